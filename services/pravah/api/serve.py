"""Serving the API in a process: uvicorn, the live hub it streams from, the sweep that
expires abandoned uploads, and optionally an unauthenticated /metrics port."""

from __future__ import annotations

import ipaddress
import logging
import socket

import anyio
import uvicorn

from pravah.api.app import create_app, metrics_app
from pravah.api.context import ApiContext
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


async def _uvicorn(app: object, host: str, port: int, share: bool = False) -> None:
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    sockets = None
    if share:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sockets = [sock]
    await uvicorn.Server(cfg).serve(sockets=sockets)


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
