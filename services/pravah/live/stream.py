"""The streams behind the SSE routes, transport-free: replay from the table past the client's
last id, then live from the hub, deduplicated by id. A job's stream opens with a snapshot
(when the client has seen nothing) and ends after a final status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.accounts.principal import Principal
from pravah.db.models import Job, Status
from pravah.live import record
from pravah.live.hub import Event, Hub, query, rows_to_events
from pravah.live.models import JobEvent, Kind

REPLAY_LIMIT = 1000  # events re-sent on a reconnect of the all-jobs stream; past it the client reloads


@dataclass(frozen=True)
class Item:
    id: int | None
    event: str  # status | progress | log | snapshot | end | resync
    data: dict[str, Any]


def item(ev: Event) -> Item:
    return Item(ev.id, ev.kind, {"job_id": ev.job_id, "at": ev.at.isoformat(), **ev.data})


def snapshot(job: Job, progress: dict[str, Any] | None) -> dict[str, Any]:
    return {"job_id": job.id, "status": job.status, "attempts": job.attempts, "run": job.run or 1, "error": job.error,
            "bucket": job.bucket, "key": job.key, "pipeline": job.pipeline, "progress": progress,
            "cancel_requested": job.cancel_requested_at is not None}


def final(ev: Event) -> bool:
    return ev.kind == Kind.STATUS and ev.data.get("status") in Status.FINAL


async def _next(sub: Any, timeout: float) -> Event | None:
    try:
        return await asyncio.wait_for(sub.queue.get(), timeout)
    except TimeoutError:
        return None


async def job_stream(sessions: async_sessionmaker, hub: Hub, job: Job, last_id: int | None) -> AsyncIterator[Item]:
    with hub.subscribe(job.id, lambda ev: True) as sub:
        async with sessions() as s:
            if last_id is None:
                top = (await s.execute(select(func.coalesce(func.max(JobEvent.id), 0)).where(JobEvent.job_id == job.id))).scalar_one()
                fresh = await s.get(Job, job.id, populate_existing=True)
                prog = (await record.latest_progress(s, [job.id])).get(job.id)
                yield Item(top, "snapshot", snapshot(fresh, prog))
                last = top
                if fresh.status in Status.FINAL:
                    yield Item(None, "end", {"job_id": job.id, "status": fresh.status})
                    return
                backlog: list[Event] = []
            else:
                last = last_id
                backlog = rows_to_events((await s.execute(query(JobEvent.job_id == job.id, JobEvent.id > last))).all())
        for ev in backlog:
            yield item(ev)
            last = ev.id
        if backlog and final(backlog[-1]):
            yield Item(None, "end", {"job_id": job.id, "status": backlog[-1].data["status"]})
            return
        while True:
            if sub.resync:
                sub.resync = False
                async with sessions() as s:
                    missed = rows_to_events((await s.execute(query(JobEvent.job_id == job.id, JobEvent.id > last))).all())
                for ev in missed:
                    last = ev.id
                    yield item(ev)
                    if final(ev):
                        yield Item(None, "end", {"job_id": job.id, "status": ev.data["status"]})
                        return
            ev = await _next(sub, 1.0)
            if ev is None or ev.id <= last:
                continue
            last = ev.id
            yield item(ev)
            if final(ev):
                yield Item(None, "end", {"job_id": job.id, "status": ev.data["status"]})
                return


async def all_stream(sessions: async_sessionmaker, hub: Hub, caller: Principal, last_id: int | None) -> AsyncIterator[Item]:
    """Every event of the jobs the caller may see, until the client goes away."""
    with hub.subscribe(None, lambda ev: caller.sees(ev.bucket, ev.key)) as sub:
        async with sessions() as s:
            if last_id is None:
                last = (await s.execute(select(func.coalesce(func.max(JobEvent.id), 0)))).scalar_one()
                backlog: list[Event] = []
            else:
                last = last_id
                backlog = await _visible_after(s, caller, last)
        yield Item(last, "ready", {"last_id": last})
        for ev in backlog[:REPLAY_LIMIT]:
            yield item(ev)
            last = ev.id
        if len(backlog) > REPLAY_LIMIT:
            yield Item(None, "resync", {"reason": f"more than {REPLAY_LIMIT} events were missed; reload"})
            return
        while True:
            if sub.resync:
                sub.resync = False
                async with sessions() as s:
                    missed = await _visible_after(s, caller, last)
                if len(missed) > REPLAY_LIMIT:
                    yield Item(None, "resync", {"reason": f"more than {REPLAY_LIMIT} events were missed; reload"})
                    return
                for ev in missed:
                    yield item(ev)
                    last = ev.id
            ev = await _next(sub, 1.0)
            if ev is None or ev.id <= last:
                continue
            last = ev.id
            yield item(ev)


async def _visible_after(session: Any, caller: Principal, last: int) -> list[Event]:
    q = query(JobEvent.id > last, caller.visible(Job.bucket, Job.key)).limit(REPLAY_LIMIT + 1)
    return rows_to_events((await session.execute(q)).all())
