"""How a long-running process stops: on SIGTERM (Kubernetes, systemd) or SIGINT (Ctrl-C) it
runs its `drain` (a worker lets its jobs finish within the grace and hands the rest back), then
cancels everything else. A second signal cuts the grace short: what still runs is handed back now."""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable

import anyio

log = logging.getLogger("pravah")


async def stop_on_signal(scope: anyio.CancelScope, drain: Callable[[anyio.Event], Awaitable[None]] | None = None) -> None:
    """Wait for SIGTERM or SIGINT, `drain(hurry)` (`hurry` is set by a second signal), then cancel
    `scope` (the process's task group)."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as received:
        async for sig in received:
            log.info("%s: stopping", signal.Signals(sig).name)
            break
        if drain is not None:
            hurry = anyio.Event()
            async with anyio.create_task_group() as tg:

                async def again() -> None:
                    async for sig in received:
                        log.warning("%s again: not waiting for running jobs any longer", signal.Signals(sig).name)
                        hurry.set()
                        return

                tg.start_soon(again)
                await drain(hurry)
                tg.cancel_scope.cancel()
    scope.cancel()
