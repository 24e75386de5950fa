"""Relay: publish outbox rows, oldest first, then mark them published. At least once: a crash
between the two publishes again, with the same event id."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Protocol

import anyio
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import jobs
from pravah.db.wakeup import OUTBOX, Wakeup

log = logging.getLogger("pravah.relay")
BATCH = 100  # outbox rows read and sent at a time


class JsonLinesSink:
    """Embedded mode's completion topic: one JSON event per line, fsynced before marking."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    async def publish(self, payloads: list[dict]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            for p in payloads:
                f.write(json.dumps(p, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())


class Sink(Protocol):
    async def publish(self, payloads: list[dict]) -> None: ...


async def relay_once(sessions: async_sessionmaker, sink: Sink) -> int:
    async with sessions() as s:
        # Each statement on its own (autocommit): the read and the marking need no transaction
        # around them, and BEGIN and COMMIT were two more round trips, one before the send.
        await s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        rows = await jobs.unpublished(s, BATCH)
        if not rows:
            return 0
        await sink.publish([r.payload for r in rows])
        await jobs.mark_published(s, [r.id for r in rows])
        return len(rows)


async def serve(sessions: async_sessionmaker, sink: Sink, db_url: str, idle_seconds: float = 0.5) -> None:
    """Publish until cancelled: woken by the worker's NOTIFY on PostgreSQL, polling otherwise.
    A failed publish leaves the rows unpublished; they go out on the next round."""
    wake = Wakeup(db_url, OUTBOX)
    try:
        while True:
            try:
                sent = await relay_once(sessions, sink)
                # Less than a full batch was all there was when read: a row committed since has
                # notified, so the wait below returns at once; reading again would find nothing.
                if sent == BATCH or (sent and not wake.listening):
                    continue
            except Exception:
                log.exception("relay: publishing failed; retrying in 1 s")
                await anyio.sleep(1.0)
            await wake.wait(idle_seconds)
    finally:
        with anyio.CancelScope(shield=True):
            await wake.close()
