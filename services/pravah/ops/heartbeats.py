"""A worker says it is alive (and what it runs) every BEAT_SECONDS; one silent for
DEAD_AFTER is shown as dead, and forgotten after FORGET_AFTER."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.ops.models import WorkerBeat

log = logging.getLogger("pravah.worker")

BEAT_SECONDS = 5.0
DEAD_AFTER = timedelta(seconds=30)
FORGET_AFTER = timedelta(days=1)
ANY_POOL = "*"  # a worker that claims every pool's jobs (embedded mode)


async def beat(sessions: async_sessionmaker, owner: str, concurrency: int, running: set[str], started: datetime, pool: str = ANY_POOL) -> None:
    t = datetime.now(UTC)
    async with sessions() as s:
        found = await s.execute(update(WorkerBeat).where(WorkerBeat.id == owner).values(seen_at=t, jobs=sorted(running)))
        if found.rowcount == 0:
            s.add(WorkerBeat(id=owner, host=socket.gethostname(), pid=os.getpid(), concurrency=concurrency, jobs=sorted(running),
                             started_at=started, seen_at=t, pool=pool))
        await s.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < t - FORGET_AFTER))
        await s.commit()


async def keep_beating(sessions: async_sessionmaker, owner: str, concurrency: int, running: set[str], pool: str = ANY_POOL) -> None:
    """Until cancelled; then the row goes (a clean stop is not a dead worker)."""
    started = datetime.now(UTC)
    try:
        while True:
            try:
                await beat(sessions, owner, concurrency, running, started, pool)
            except Exception:
                log.warning("worker: heartbeat failed; retrying", exc_info=True)
            await anyio.sleep(BEAT_SECONDS)
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):
            try:
                async with sessions() as s:
                    await s.execute(delete(WorkerBeat).where(WorkerBeat.id == owner))
                    await s.commit()
            except Exception:
                log.warning("worker: could not remove its heartbeat row", exc_info=True)
