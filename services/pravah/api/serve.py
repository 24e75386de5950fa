"""Serving the API in a process: uvicorn, the live hub it streams from, the sweep that
expires abandoned uploads, and optionally an unauthenticated /metrics port. Also the ops port
of a process without the API (probes and its own /metrics)."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import socket
from collections.abc import Iterator

import anyio
import uvicorn

from pravah.api.app import create_app, metrics_app, ops_app
from pravah.api.context import ApiContext, OpsContext
from pravah.dryrun import scratch
from pravah.uploads import sessions as uploads

log = logging.getLogger("pravah.api")


class OpenModeNotLoopback(Exception):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_open_mode(ctx: ApiContext) -> None:
    if ctx.open and not is_loopback(ctx.settings.api.host):
        raise OpenModeNotLoopback(
            f"PRAVAH_AUTH__MODE=open serves everyone as an administrator, so it binds only to loopback, not {ctx.settings.api.host}; "
            "set PRAVAH_AUTH__MODE=accounts (and create users with `pravah users create`)")


async def expire_uploads(ctx: ApiContext, every: float = 60.0) -> None:
    while True:
        try:
            async with ctx.sessions() as s:
                n = await uploads.expire(s, ctx.store)
            if n:
                log.info("expired %d abandoned upload(s)", n)
        except Exception:
            log.exception("expiring uploads failed; trying again later")
        await anyio.sleep(every)


SHUTDOWN_SECONDS = 5.0  # open requests (an SSE stream never ends by itself) get this long once the process stops


def _bound(host: str, port: int, share: bool = False) -> socket.socket:
    """A TCP socket bound to host:port (`share`: several processes may bind the same port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process stops on its own signals (pravah.signals), in order: a worker drains first.
        yield


async def _uvicorn(app: object, host: str, port: int, share: bool = False, sock: socket.socket | None = None) -> None:
    """Until cancelled; then stop accepting, and give open requests SHUTDOWN_SECONDS."""
    # log_config=None: uvicorn's lines go through the process's own handler (JSON with the rest), not a handler of its own.
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="off", timeout_graceful_shutdown=SHUTDOWN_SECONDS)
    if share:
        sock = _bound(host, port, share=True)
    server = _Server(cfg)
    sockets = [sock] if sock is not None else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if server.started and not server.should_exit:  # cancelled: uvicorn's own shutdown did not run
            with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_SECONDS + 1):
                await server.shutdown(sockets=sockets)


class OpsPortError(Exception):
    pass


def bind_ops(host: str, port: int) -> socket.socket:
    """The ops port, bound at start-up: a port already taken is one clear line, not a traceback later."""
    try:
        sock = _bound(host, port)
    except OSError as e:
        why = "is in use (another `pravah serve` on this machine? give each its own port, or 0 for none)" if e.errno == errno.EADDRINUSE else f"cannot be bound: {e.strerror}"
        raise OpsPortError(f"PRAVAH_OPS__PORT {port} on {host} {why}") from None
    return sock


async def serve_ops(ctx: OpsContext, sock: socket.socket) -> None:
    """/healthz, /readyz and this process's /metrics on the bound ops port, until cancelled."""
    host, port = sock.getsockname()[:2]
    log.info("probes and /metrics on http://%s:%d", host, port)
    await _uvicorn(ops_app(ctx), host, port, sock=sock)


async def serve(ctx: ApiContext) -> None:
    """Until cancelled."""
    check_open_mode(ctx)
    api = ctx.settings.api
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctx.hub.run)
        tg.start_soon(expire_uploads, ctx)
        tg.start_soon(scratch.keep_sweeping, ctx.store, ctx.settings.dry_run.bucket, ctx.settings.dry_run.sweep_seconds)  # expired dry-run outputs
        tg.start_soon(_uvicorn, create_app(ctx), api.host, api.port, api.share_port)
        if api.metrics_port:
            tg.start_soon(_uvicorn, metrics_app(ctx), api.host, api.metrics_port)
