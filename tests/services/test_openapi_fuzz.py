"""Fuzz the whole HTTP surface from its own OpenAPI document (schemathesis strategies, driven
by hypothesis) against a real `pravah serve api` on PostgreSQL and MinIO, as an administrator,
as a user and with no credentials: no request may produce a server error (5xx), and every answer
keeps to the document — a status code it declares, its content type and schema — while a request
the document calls invalid (a date-time that is no date-time) is refused."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import RUN, Procs, free_port, own_database
from .frontdoor import PASSWORD

STREAMS = {"/v1/events"}  # endless by design; its parameters are covered by the job stream
EXAMPLES = int(os.environ.get("PRAVAH_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def server(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Procs]:
    with own_database(stack, f"fuzz_{RUN}") as url:
        p = Procs({**os.environ, **stack, "PRAVAH_DATABASE_URL": url, "PRAVAH_API__PORT": str(free_port())}, tmp_path_factory.mktemp("fuzz"))
        for email, *extra in (("root@fuzz.test", "--admin"), ("user@fuzz.test",)):
            p.cli("users", "create", email, "--tenant", "fuzz", "--scope", f"fuzz-{RUN}", "--password-stdin", *extra, stdin=PASSWORD + "\n")
        with p.running(api="api"):
            yield p


def test_no_request_makes_a_server_error(server: Procs) -> None:
    tokens = {"none": None}
    for who, email in (("admin", "root@fuzz.test"), ("user", "user@fuzz.test")):
        tokens[who] = httpx.post(server.api + "/v1/auth/sign-in", json={"email": email, "password": PASSWORD}).json()["access_token"]
    schema = schemathesis.openapi.from_url(server.api + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in STREAMS:
            continue
        operations += 1

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(mode))
            def run(case: schemathesis.Case) -> None:
                for who, token in tokens.items():
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    r = case.call(base_url=server.api, headers=headers, timeout=30)
                    where = f"{who}: {case.method} {op.path}"
                    if r.status_code >= 500:
                        failures.append(f"{where} ({case.formatted_path}) → {r.status_code}: {r.text[:300]}")
                    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
                    # Without credentials any request is refused first, valid or not. An object drawn
                    # for a query parameter goes out form-style as its own keys (`?a=b` for q={a: b}):
                    # the parameter is then simply absent, which no server can tell from a request
                    # without it, so such a draw is not an invalid request.
                    sent_as_keys = any(isinstance(v, dict) for v in (case.query or {}).values())
                    if who != "none" and not sent_as_keys:
                        checks.append(negative_data_rejection)
                    try:
                        case.validate_response(r, checks=checks)
                    except FailureGroup as e:
                        failures.extend(f"{where} ({mode.value}) → {r.status_code}: {f.title}: {' '.join(f.message.split())[:200]}"
                                        for f in e.exceptions)

            try:
                run()
            except Unsatisfiable:  # nothing in the operation can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
    assert operations >= 25
    assert not failures, "\n".join(sorted(set(failures))[:60])
