"""A repeated scalar query parameter is refused with a 422 naming it, on the API and on the pages
(in process, open mode on SQLite); a single value still works, and list parameters take repeats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI, Query

from pravah.accounts.tokens import Signer
from pravah.api.app import create_app
from pravah.api.context import ApiContext
from pravah.api.query import single_values
from pravah.db.session import make_engine, sessions
from pravah.live.hub import Hub
from pravah.settings import load_settings
from pravah.storage import LocalStore


@asynccontextmanager
async def api(tmp: Path, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    eng = make_engine(db_url)
    made = sessions(eng)
    signer = Signer(b"k" * 40)
    ctx = ApiContext(made, load_settings(home=tmp, database_url=db_url), LocalStore(tmp / "data", signer=signer), signer,
                     Hub(made, db_url), open=True)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(ctx)), base_url="http://127.0.0.1") as c:
            yield c
    finally:
        await eng.dispose()


def assert_refused(r: httpx.Response, name: str, given: list[str]) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"type": "repeated", "loc": ["query", name], "msg": f"{name} takes one value; it was given {len(given)}",
                                   "input": given}]


@pytest.mark.parametrize(("path", "name"), [("/v1/jobs", "q"), ("/v1/uploads", "status"), ("/ui/jobs", "q")])
def test_a_repeated_scalar_is_refused_and_one_value_is_taken(tmp_path: Path, db_url: str, path: str, name: str) -> None:
    async def go() -> None:
        async with api(tmp_path, db_url) as c:
            assert_refused(await c.get(path, params=[(name, "OPEN"), (name, "EXPIRED")]), name, ["OPEN", "EXPIRED"])
            r = await c.get(path, params={name: "OPEN"})
            assert r.status_code == 200, r.text

    anyio.run(go)


def test_only_the_repeated_scalars_are_named(tmp_path: Path, db_url: str) -> None:
    async def go() -> None:
        async with api(tmp_path, db_url) as c:
            r = await c.get("/v1/jobs", params=[("q", "a"), ("limit", "5"), ("q", "b"), ("bucket", "in")])
            assert_refused(r, "q", ["a", "b"])
            r = await c.get("/v1/jobs", params=[("unknown", "a"), ("unknown", "b")])  # undeclared: ignored, as FastAPI ignores it once
            assert r.status_code == 200, r.text

    anyio.run(go)


def _page(page: int = 1) -> int:
    return page


def test_a_list_takes_repeats_and_a_dependency_s_scalar_does_not() -> None:
    """No route of the API takes a list yet; a small app with the same dependency stands in."""
    app = FastAPI(dependencies=[Depends(single_values)])

    @app.get("/things")
    async def things(page: Annotated[int, Depends(_page)], tag: Annotated[list[str] | None, Query()] = None) -> dict:
        return {"page": page, "tag": tag}

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
            r = await c.get("/things", params=[("tag", "a"), ("tag", "b"), ("page", "2")])
            assert r.status_code == 200 and r.json() == {"page": 2, "tag": ["a", "b"]}, r.text
            assert_refused(await c.get("/things", params=[("tag", "a"), ("page", "2"), ("page", "3")]), "page", ["2", "3"])

    anyio.run(go)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/uploads", {"filename": "a.csv", "size": "5"}, "size"),
    ("/v1/backfills", {"bucket": "inbox", "older_than_seconds": "60"}, "older_than_seconds"),
    ("/v1/auth/sign-in", {"email": "a@b.c", "password": "x", "cookie": "true"}, "cookie"),
])
def test_a_number_or_flag_sent_as_text_is_refused(tmp_path: Path, db_url: str, path: str, body: dict, field: str) -> None:
    """The schema says integer or boolean: "5" or "true" is not taken for one (pydantic's lax mode would)."""
    async def go() -> None:
        async with api(tmp_path, db_url) as c:
            r = await c.post(path, json=body)
            assert r.status_code == 422, r.text
            assert any(d["loc"][-1] == field for d in r.json()["detail"]), r.text

    anyio.run(go)


def test_a_time_before_year_one_in_utc_is_refused():
    """The fuzz test drew `0001-01-01T00:00:00+00:01` for retry-failed's `since`: it parses, but is
    before year 1 in UTC, and the database answered 500. Every ISO time of the API refuses it."""
    from pydantic import TypeAdapter, ValidationError

    from pravah.api.openapi import IsoTime

    times = TypeAdapter(IsoTime)
    with pytest.raises(ValidationError, match="out of range once converted to UTC"):
        times.validate_python("0001-01-01T00:00:00+00:01")
    assert times.validate_python("0001-01-01T00:00:00-00:01").year == 1
    assert times.validate_python("2026-12-03T10:00:00Z").hour == 10


@pytest.mark.parametrize("value", [True, 2.0, 1.5, [1]])
def test_a_size_is_a_whole_number_or_a_text(tmp_path: Path, db_url: str, value: object) -> None:
    """The fuzz test sent `true` for a backfill's max_size and got 201: pydantic's ByteSize takes
    whatever int() takes. The schema says a whole number or a text such as "100MB", and so does
    the API now; both forms still go through."""
    async def go() -> None:
        async with api(tmp_path, db_url) as c:
            for field in ("min_size", "max_size"):
                r = await c.post("/v1/backfills", json={"bucket": "inbox", field: value})
                assert r.status_code == 422, r.text
                assert any(d["loc"][-1] == field and "whole number of bytes" in d["msg"] for d in r.json()["detail"]), r.text
            for good in (1000, "1KB"):
                r = await c.post("/v1/backfills", json={"bucket": "inbox", "min_size": good, "max_size": good})
                assert r.status_code == 201, r.text

    anyio.run(go)
