"""POST /v1/dry-runs in accounts mode on SQLite and the local store (in process, no sockets):
who may dry-run what, named / stored / unsaved pipelines, 422 at the field, 413, and no job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pyarrow.parquet as pq
import yaml

from pravah import registry
from pravah.accounts import users
from pravah.accounts.tokens import Signer
from pravah.api.app import create_app
from pravah.api.context import ApiContext
from pravah.db.models import Job
from pravah.db.session import make_engine, migrate, sessions
from pravah.live.hub import Hub
from pravah.pipelines import validate
from pravah.settings import load_settings
from pravah.storage import LocalStore

PASSWORD = "dry run password 1"
DOC = """
pipelines:
  - name: shipped
    steps: [read_csv, {filter: {where: "status = 'shipped'"}}, {select: {columns: [id, qty]}}, write_parquet]
    output: out/{stem}.parquet
  - name: secret
    steps: [read_csv, write_csv]
    output: out/{stem}.csv
bindings:
  - {bucket: in, prefix: team/, pipeline: shipped}
  - {bucket: in, prefix: other/, pipeline: secret}
"""
CSV = "id,status,qty\n1,shipped,3\n2,pending,4\n3,shipped,5\n"


@asynccontextmanager
async def api(tmp: Path, **dry_run: Any) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, dict[str, str]], Any]]:
    url = f"sqlite+aiosqlite:///{tmp / 'db.sqlite'}"
    migrate(url)
    settings = load_settings(home=tmp, database_url=url, dry_run={"sweep_seconds": 0, **dry_run})
    for folder in ("team", "other"):
        (tmp / "data" / "in" / folder).mkdir(parents=True, exist_ok=True)
        (tmp / "data" / "in" / folder / "orders.csv").write_text(CSV)
    eng = make_engine(url)
    made = sessions(eng)
    async with made() as s:
        team = await users.create_tenant(s, "team", ["in/team/"])
        other = await users.create_tenant(s, "other", ["in/other/"])
        await users.create_user(s, "ana@team.test", PASSWORD, team)
        await users.create_user(s, "oz@other.test", PASSWORD, other)
        await s.commit()
        await registry.apply(s, validate(yaml.safe_load(DOC)), "test")
    signer = Signer(b"k" * 40)
    ctx = ApiContext(made, settings, LocalStore(tmp / "data", signer=signer), signer, Hub(made, url), open=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(ctx)), base_url="http://127.0.0.1") as c:
            heads = {}
            for who, email in (("ana", "ana@team.test"), ("oz", "oz@other.test")):
                r = await c.post("/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
                heads[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield c, heads, made
    finally:
        await eng.dispose()


def test_iso_times_out_of_range_and_who_may_retry_failures(tmp_path: Path) -> None:
    """The ISO-time check (a time before year 1 in UTC is a 422) changed no one's rights on the
    routes that take one: without credentials 401 (a bad time too: credentials are read first), a
    read-only key 403 on retry-failed. That a tenant retries only its own failures is proven with
    failed jobs on the real stack (tests/services/test_accounts.py); here both tenants have none."""
    bad, good = "0001-01-01T00:00:00+00:01", "2026-01-01T00:00:00Z"

    async def go() -> None:
        async with api(tmp_path) as (c, h, _):
            reader = {"Authorization": "Bearer " + (await c.post("/v1/keys", json={"name": "ro", "scopes": ["read"]}, headers=h["ana"])).json()["key"]}
            for since in (bad, good):
                body = {"pipeline": "shipped", "error": "x", "since": since}
                assert (await c.post("/v1/jobs/retry-failed", json=body)).status_code == 401
                assert (await c.get("/v1/jobs", params={"since": since})).status_code == 401
                assert (await c.get("/v1/jobs/failures", params={"since": since})).status_code == 401
                assert (await c.post("/v1/jobs/retry-failed", json=body, headers=reader)).status_code == 403
            r = await c.post("/v1/jobs/retry-failed", json={"pipeline": "shipped", "error": "x", "since": bad}, headers=h["ana"])
            assert r.status_code == 422 and "out of range once converted to UTC" in r.text, r.text
            for path in ("/v1/jobs", "/v1/jobs/failures"):
                r = await c.get(path, params={"since": bad}, headers=h["ana"])
                assert r.status_code == 422 and "out of range" in r.text, r.text
            r = await c.post("/v1/jobs/retry-failed", json={"pipeline": "shipped", "error": "x", "since": 5}, headers=h["ana"])
            assert r.status_code == 422, r.text  # ISO 8601 only, not a Unix time
            for who in ("ana", "oz"):
                r = await c.post("/v1/jobs/retry-failed", json={"pipeline": "shipped", "error": "x", "since": good}, headers=h[who])
                assert r.status_code == 200 and r.json() == {"retried": []}, r.text

    anyio.run(go)


def test_named_stored_and_unsaved_pipelines_and_who_may(tmp_path: Path) -> None:
    async def go() -> None:
        async with api(tmp_path) as (c, h, made):
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "pipeline": "shipped"}, headers=h["ana"])
            assert r.status_code == 200, r.text
            got = r.json()
            assert got["succeeded"] and got["source"] == "applied" and got["columns"] == [{"name": "id", "type": "int64"}, {"name": "qty", "type": "int64"}]
            written = pq.read_table(tmp_path / "data" / "in" / got["output"]["key"])
            assert got["rows"] == [list(row.values()) for row in written.to_pylist()] == [[1, 3], [3, 5]]
            assert (got["rows_in"], got["rows_out"], got["rows_filtered"], got["rows_rejected"]) == (3, 2, 1, 0)
            assert got["output"]["url"].startswith("http://127.0.0.1:8787/store/objects/in/_pravah/dry-runs/")
            version = got["version"]
            # Another tenant's object, an object that is not there, a pipeline bound elsewhere: all simply not found.
            for body, who in [({"key": "other/orders.csv", "pipeline": "shipped"}, "ana"), ({"key": "team/nope.csv", "pipeline": "shipped"}, "ana"),
                              ({"key": "team/orders.csv", "pipeline": "secret"}, "ana"), ({"key": "team/orders.csv", "pipeline": "shipped"}, "oz"),
                              ({"key": "team/orders.csv", "pipeline": "shipped", "version": "000000000000"}, "ana")]:
                r = await c.post("/v1/dry-runs", json={"bucket": "in", **body}, headers=h[who])
                assert r.status_code == 404, (body, who, r.text)
            # A stored version still runs after the live document changed.
            async with made() as s:
                await registry.apply(s, validate(yaml.safe_load(DOC.replace("status = 'shipped'", "qty > 3"))), "test")
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "pipeline": "shipped", "version": version}, headers=h["ana"])
            assert r.json()["source"] == "version" and r.json()["rows"] == [[1, 3], [3, 5]]
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "pipeline": "shipped"}, headers=h["ana"])
            assert r.json()["rows"] == [[2, 4], [3, 5]] and r.json()["version"] != version
            # An unsaved pipeline, in the form people write it.
            spec = {"name": "draft", "steps": ["read_csv", {"derive": {"column": "double", "expr": "qty * 2"}}, "write_jsonl"], "output": "out/{stem}.jsonl"}
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "spec": spec, "rows": 1}, headers=h["ana"])
            assert r.status_code == 200 and r.json()["source"] == "inline" and r.json()["rows"] == [[1, "shipped", 3, 6]] and not r.json()["complete"]
            async with made() as s:
                from sqlalchemy import func, select

                assert (await s.execute(select(func.count()).select_from(Job))).scalar_one() == 0

    anyio.run(go)


def test_bad_requests_name_the_field(tmp_path: Path) -> None:
    async def go() -> None:
        async with api(tmp_path, max_input_bytes=20) as (c, h, _):
            bad = {"name": "draft", "steps": ["read_csv", {"filter": {"where": "qty >"}}, "write_csv"], "output": "out/x.csv"}
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "spec": bad}, headers=h["ana"])
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "spec", "steps", 1, "filter", "where"], r.text
            # A size is a whole number or a text ("64KB"): `true` is refused at its field, and
            # still 401 without credentials (read first); a user outside the prefix gets 404.
            sized = {"name": "draft", "steps": ["read_csv", "write_csv"], "output": "out/x.csv", "limits": {"max_input_bytes": True}}
            body = {"bucket": "in", "key": "team/orders.csv", "spec": sized}
            r = await c.post("/v1/dry-runs", json=body, headers=h["ana"])
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "spec", "limits", "max_input_bytes"], r.text
            assert (await c.post("/v1/dry-runs", json=body)).status_code == 401
            sized["limits"] = {"max_input_bytes": "64KB"}
            assert (await c.post("/v1/dry-runs", json={**body, "key": "other/orders.csv"}, headers=h["ana"])).status_code == 404
            # Half a surrogate pair alone (JSON's "\\ud800") is no text the engine can take: 422 at its
            # field, not a 500; still 401 without credentials and 404 outside the caller's prefix.
            half = {"name": "draft", "steps": [{"grep": {"pattern": "a\ud800"}}], "output": "out/x.txt"}
            raw = json.dumps({"bucket": "in", "key": "team/orders.csv", "spec": half})  # ASCII: "\\ud800" escaped
            sent = {"content-type": "application/json"}
            r = await c.post("/v1/dry-runs", content=raw, headers={**h["ana"], **sent})
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "spec", "steps", 0, "grep", "pattern"], r.text
            assert "half of a surrogate pair" in r.text
            assert (await c.post("/v1/dry-runs", content=raw, headers=sent)).status_code == 401
            elsewhere = raw.replace("team/orders.csv", "other/orders.csv")
            assert (await c.post("/v1/dry-runs", content=elsewhere, headers={**h["ana"], **sent})).status_code == 404
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "spec": bad, "pipeline": "shipped"}, headers=h["ana"])
            assert r.status_code == 422 and "one of the two" in r.text
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "pipeline": "shipped", "rows": 201}, headers=h["ana"])
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "rows"]
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "pipeline": "shipped"}, headers=h["ana"])
            assert r.status_code == 413 and "PRAVAH_DRY_RUN__MAX_INPUT_BYTES" in r.json()["detail"]
            r = await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "pipeline": "shipped"})
            assert r.status_code == 401

    anyio.run(go)


def test_the_routes_this_stop_changed_keep_who_may_call_them(tmp_path: Path) -> None:
    """The stricter bodies (numbers and flags as JSON numbers and booleans) and the one-value
    query check changed no one's rights: without credentials a request is 401 (a malformed body
    too: credentials are read first), a repeated one-value parameter is 422 with nothing of the
    data; a user is 403 on an administrator's route and 404 on another tenant's prefix."""
    async def go() -> None:
        async with api(tmp_path) as (c, h, _):
            assert (await c.get("/v1/jobs")).status_code == 401
            r = await c.get("/v1/jobs", params=[("q", "a"), ("q", "b")])
            assert r.status_code == 422 and set(r.json()) == {"detail"}, r.text
            for body in ({"bucket": "in", "prefix": "team/", "older_than_seconds": 60}, {"bucket": "in", "older_than_seconds": "60"},
                         {"bucket": "in", "max_size": True}):
                assert (await c.post("/v1/backfills", json=body)).status_code == 401
            assert (await c.post("/v1/uploads", json={"filename": "a.csv", "size": "5"})).status_code == 401
            assert (await c.post("/v1/dry-runs", json={"bucket": "in", "key": "team/orders.csv", "rows": "5"})).status_code == 401
            assert (await c.patch("/v1/users/someone", json={"disabled": True}, headers=h["ana"])).status_code == 403
            r = await c.post("/v1/backfills", json={"bucket": "in", "prefix": "team/", "older_than_seconds": 60}, headers=h["oz"])
            assert r.status_code == 404, r.text
            r = await c.post("/v1/backfills", json={"bucket": "in", "prefix": "team/", "older_than_seconds": 60}, headers=h["ana"])
            assert r.status_code == 201, r.text

    anyio.run(go)
