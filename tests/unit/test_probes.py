"""The ops port's app answers as the FastAPI app it replaced did: the probes, /metrics with the
process's own counters, and FastAPI's 404, 405 and trailing-slash redirect for everything else."""

from __future__ import annotations

import anyio
import httpx
import pytest

from pravah.api.probes import Check, OpsContext, ops_app
from pravah.db.session import make_engine, sessions

JSON = "application/json"
NOT_FOUND = (404, {"content-type": JSON}, b'{"detail":"Not Found"}')
NOT_ALLOWED = (405, {"content-type": JSON, "allow": "GET"}, b'{"detail":"Method Not Allowed"}')
CASES = [
    ("GET", "/healthz", (200, {"content-type": JSON}, b'{"status":"ok"}')),
    ("GET", "/healthz?probe=1", (200, {"content-type": JSON}, b'{"status":"ok"}')),
    ("GET", "/readyz", (200, {"content-type": JSON}, b'{"ready":true,"database":true}')),
    ("GET", "/healthz/", (307, {"location": "http://ops/healthz"}, b"")),
    ("GET", "/readyz/?x=1", (307, {"location": "http://ops/readyz?x=1"}, b"")),
    ("POST", "/healthz", NOT_ALLOWED),
    ("HEAD", "/healthz", (405, {"allow": "GET"}, b"")),
    ("PUT", "/metrics", NOT_ALLOWED),
    ("OPTIONS", "/readyz", NOT_ALLOWED),
    ("GET", "/", NOT_FOUND),
    ("GET", "/docs", NOT_FOUND),
    ("GET", "/v1/jobs", NOT_FOUND),
    ("GET", "/nope/", NOT_FOUND),
]


def answer(db_url: str, method: str, path: str, checks: dict[str, Check] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        engine = make_engine(db_url)
        app = ops_app(OpsContext(sessions(engine), checks or {}))
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops") as c:
                return await c.request(method, path)
        finally:
            await engine.dispose()

    return anyio.run(go)


@pytest.mark.parametrize(("method", "path", "expected"), CASES)
def test_answers_as_fastapi_did(db_url: str, method: str, path: str, expected: tuple[int, dict[str, str], bytes]) -> None:
    r = answer(db_url, method, path)
    _, headers, body = expected
    assert (r.status_code, {k: r.headers.get(k) for k in headers}, r.content) == expected
    assert r.headers["content-length"] == str(len(body)) or method == "HEAD"


async def _up() -> bool:
    return True


async def _down() -> bool:
    return False


async def _broken() -> bool:
    raise RuntimeError("no broker")


@pytest.mark.parametrize(("check", "status", "body"), [
    (_up, 200, {"ready": True, "database": True, "kafka": True}),
    (_down, 503, {"ready": False, "database": True, "kafka": False}),
    (_broken, 503, {"ready": False, "database": True, "kafka": False}),
])
def test_readyz_names_each_dependency(db_url: str, check: Check, status: int, body: dict) -> None:
    r = answer(db_url, "GET", "/readyz", {"kafka": check})
    assert (r.status_code, r.json()) == (status, body)


def test_readyz_without_the_database_is_503() -> None:
    r = answer("postgresql+asyncpg://pravah@127.0.0.1:1/pravah", "GET", "/readyz", {"kafka": _up})  # nothing listens on port 1
    assert (r.status_code, r.content) == (503, b'{"ready":false,"database":false,"kafka":true}')


def test_metrics_are_this_process_counters(db_url: str) -> None:
    r = answer(db_url, "GET", "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=")
    assert "pravah_jobs_handed_back_total" in r.text and "pravah_jobs{" not in r.text
