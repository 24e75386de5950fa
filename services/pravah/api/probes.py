"""The ops port of a process without the API (`pravah serve ingest|worker|relay`): /healthz,
/readyz and this process's /metrics, unauthenticated. A bare ASGI app on uvicorn, not FastAPI:
importing FastAPI cost a restarted worker about a second before it did anything. It answers as
the FastAPI app did, down to the 404, 405 and trailing-slash redirect."""

from __future__ import annotations

import errno
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pravah import metrics
from pravah.api import listen
from pravah.errors import StartupError

log = logging.getLogger("pravah.api")
Check = Callable[[], Awaitable[bool]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class OpsContext:
    """The database, and the other dependencies /readyz asks about (Kafka for ingest and relay)."""

    sessions: async_sessionmaker
    checks: dict[str, Check] = field(default_factory=dict)


async def readiness(session: AsyncSession, checks: dict[str, Check]) -> dict[str, bool]:
    """/readyz's body: the database and each check, true or false, and whether all are true."""
    results: dict[str, bool] = {}
    try:
        await session.execute(text("SELECT 1"))
        results["database"] = True
    except Exception:
        results["database"] = False
    for name, check in checks.items():
        try:
            results[name] = await check()
        except Exception:
            results[name] = False
    return {"ready": all(results.values()), **results}


async def _answer(send: Send, status: int, body: bytes, content_type: str | None, *more: tuple[bytes, bytes]) -> None:
    headers = [*more, (b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json(content: dict) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()  # as Starlette's JSONResponse


def _moved(scope: dict[str, Any], path: str) -> bytes:
    """Where FastAPI redirected /healthz/ and the like: the same URL without the trailing slash."""
    host = dict(scope["headers"]).get(b"host")
    if host is None:
        server_host, port = scope["server"]
        host = f"{server_host}:{port}".encode()
    query = scope.get("query_string", b"")
    return scope.get("scheme", "http").encode() + b"://" + host + path.encode() + (b"?" + query if query else b"")


def ops_app(ctx: OpsContext) -> Callable[[dict[str, Any], Any, Send], Awaitable[None]]:
    async def healthz(send: Send) -> None:
        await _answer(send, 200, _json({"status": "ok"}), "application/json")

    async def readyz(send: Send) -> None:
        async with ctx.sessions() as session:
            body = await readiness(session, ctx.checks)
        await _answer(send, 200 if body["ready"] else 503, _json(body), "application/json")

    async def own_metrics(send: Send) -> None:
        body, content_type = metrics.render_own()  # this process's counters only: no database query per scrape
        await _answer(send, 200, body, content_type)

    routes = {"/healthz": healthz, "/readyz": readyz, "/metrics": own_metrics}

    async def app(scope: dict[str, Any], _receive: Any, send: Send) -> None:
        path = scope["path"]
        route = routes.get(path)
        if route is not None and scope["method"] == "GET":
            await route(send)
        elif route is not None:
            await _answer(send, 405, _json({"detail": "Method Not Allowed"}), "application/json", (b"allow", b"GET"))
        elif path != "/" and path.endswith("/") and path.rstrip("/") in routes:
            await _answer(send, 307, b"", None, (b"location", _moved(scope, path.rstrip("/"))))
        else:
            await _answer(send, 404, _json({"detail": "Not Found"}), "application/json")

    return app


class OpsPortError(StartupError):
    pass


def bind_ops(host: str, port: int) -> socket.socket:
    """The ops port, bound at start-up: a port already taken is one clear line, not a traceback later."""
    try:
        sock = listen.bound(host, port)
    except OSError as e:
        why = "is in use (another `pravah serve` on this machine? give each its own port, or 0 for none)" if e.errno == errno.EADDRINUSE else f"cannot be bound: {e.strerror}"
        raise OpsPortError(f"PRAVAH_OPS__PORT {port} on {host} {why}") from None
    return sock


async def serve_ops(ctx: OpsContext, sock: socket.socket) -> None:
    """Until cancelled."""
    host, port = sock.getsockname()[:2]
    log.info("probes and /metrics on http://%s:%d", host, port)
    await listen.run(ops_app(ctx), host, port, sock=sock)
