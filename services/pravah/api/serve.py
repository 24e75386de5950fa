"""Serving the API in a process: uvicorn, the live hub it streams from, the sweep that
expires abandoned uploads, and optionally an unauthenticated /metrics port. (The ops port of a
process without the API is api/probes.py.)"""

from __future__ import annotations

import ipaddress
import logging

import anyio

from pravah.api import listen
from pravah.api.app import create_app, metrics_app
from pravah.api.context import ApiContext
from pravah.dryrun import scratch
from pravah.errors import StartupError
from pravah.uploads import sessions as uploads

log = logging.getLogger("pravah.api")


class OpenModeNotLoopback(StartupError):
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


async def serve(ctx: ApiContext) -> None:
    """Until cancelled."""
    check_open_mode(ctx)
    api = ctx.settings.api
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctx.hub.run)
        tg.start_soon(expire_uploads, ctx)
        tg.start_soon(scratch.keep_sweeping, ctx.store, ctx.settings.dry_run.bucket, ctx.settings.dry_run.sweep_seconds)  # expired dry-run outputs
        tg.start_soon(listen.run, create_app(ctx), api.host, api.port, api.share_port)
        if api.metrics_port:
            tg.start_soon(listen.run, metrics_app(ctx), api.host, api.metrics_port)
