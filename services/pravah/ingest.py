"""Ingest: route an object event and create its job, idempotently. Transport-free: the
embedded watcher calls it now, the Kafka consumer will call it the same way."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import jobs
from pravah.events import ObjectEvent
from pravah.routing import OutputKeyError, Router


@dataclass
class IngestStats:
    created: int = 0
    duplicates: int = 0
    unrouted: int = 0
    rejected: int = 0


async def ingest(sessions: async_sessionmaker, router: Router, events: list[ObjectEvent], stats: IngestStats) -> None:
    """Create jobs for `events` in one transaction; durable when this returns."""
    async with sessions() as s:
        for ev in events:
            route = router.route(ev)
            if route is None:
                stats.unrouted += 1
                continue
            try:
                created = await jobs.create_job(s, ev, route)
            except OutputKeyError:
                stats.rejected += 1
                continue
            if created:
                stats.created += 1
            else:
                stats.duplicates += 1
        await s.commit()
