"""Fan-out of job events to the streams one API process serves.

On PostgreSQL a trigger NOTIFYs "<id> <job>" for every new event; the hub holds one LISTEN
connection, and fetches (in one query per burst) only the rows some stream watches. NOTIFY is
delivered at commit, in commit order, so no event is missed or reordered while connected;
after a reconnect every stream catches up from the table (`resync`). On SQLite (embedded mode,
one process, one writer at a time) the hub polls the table for ids above the last it saw."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.db.models import Job
from pravah.live.models import JobEvent

log = logging.getLogger("pravah.live")
CHANNEL = "pravah_job_events"
QUEUE_LIMIT = 1000  # events a slow stream may fall behind before it re-reads from the table


@dataclass(frozen=True)
class Event:
    id: int
    job_id: str
    kind: str
    data: dict[str, Any]
    at: datetime
    bucket: str
    key: str


def query(*conds: Any) -> Any:
    return (select(JobEvent.id, JobEvent.job_id, JobEvent.kind, JobEvent.data, JobEvent.at, Job.bucket, Job.key)
            .join(Job, Job.id == JobEvent.job_id).where(*conds).order_by(JobEvent.id))


def rows_to_events(rows: Any) -> list[Event]:
    return [Event(*r) for r in rows]


@dataclass(eq=False)
class Subscription:
    job_id: str | None  # None: every job `wants` accepts
    wants: Callable[[Event], bool]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    resync: bool = False  # events may have been missed: re-read the table past the last id

    def offer(self, ev: Event) -> None:
        if self.resync:
            return
        try:
            self.queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.resync = True  # the stream notices on its next wait and catches up from the table


class Hub:
    def __init__(self, sessions: async_sessionmaker, db_url: str, poll_seconds: float = 0.25):
        self.sessions, self.poll_seconds = sessions, poll_seconds
        u = make_url(db_url)
        self.dsn = u.set(drivername="postgresql").render_as_string(hide_password=False) if u.get_backend_name() == "postgresql" else None
        self._by_job: dict[str, set[Subscription]] = {}
        self._all: set[Subscription] = set()
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self.connected = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._all) + sum(len(s) for s in self._by_job.values())

    @contextlib.contextmanager
    def subscribe(self, job_id: str | None, wants: Callable[[Event], bool]) -> Iterator[Subscription]:
        sub = Subscription(job_id, wants)
        group = self._all if job_id is None else self._by_job.setdefault(job_id, set())
        group.add(sub)
        try:
            yield sub
        finally:
            group.discard(sub)
            if job_id is not None and not group:
                self._by_job.pop(job_id, None)

    def _watched(self, job_id: str) -> bool:
        return bool(self._all) or job_id in self._by_job

    def _dispatch(self, events: list[Event]) -> None:
        for ev in events:
            for sub in self._by_job.get(ev.job_id, ()):
                sub.offer(ev)
            for sub in self._all:
                if sub.wants(ev):
                    sub.offer(ev)

    def _resync_all(self) -> None:
        for sub in [*self._all, *(s for g in self._by_job.values() for s in g)]:
            sub.resync = True

    async def run(self) -> None:
        """Feed the subscriptions until cancelled."""
        if self.dsn:
            await self._listen_forever()
        else:
            await self._poll_forever()

    # ---------------------------------------------------------------- PostgreSQL

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        ident, _, job_id = payload.partition(" ")
        if self._watched(job_id):
            self._pending.add(int(ident))
            self._wake.set()

    async def _listen_forever(self) -> None:
        import asyncpg

        delay = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await conn.add_listener(CHANNEL, self._on_notify)
                self._resync_all()  # whatever happened while we were not listening
                self.connected.set()
                delay = 0.5
                while not conn.is_closed():
                    try:
                        await asyncio.wait_for(self._wake.wait(), 5.0)
                    except TimeoutError:
                        await conn.execute("SELECT 1")  # notice a dead connection
                        continue
                    self._wake.clear()
                    await asyncio.sleep(0.005)  # let a burst of notifications gather into one fetch
                    ids, self._pending = self._pending, set()
                    async with self.sessions() as s:
                        self._dispatch(rows_to_events((await s.execute(query(JobEvent.id.in_(sorted(ids))))).all()))
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("live: LISTEN connection lost (%s); reconnecting in %.1f s", e, delay)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    # ---------------------------------------------------------------- SQLite

    async def _poll_forever(self) -> None:
        last = None
        while True:
            try:
                async with self.sessions() as s:
                    if last is None:
                        last = (await s.execute(select(func.coalesce(func.max(JobEvent.id), 0)))).scalar_one()
                        self.connected.set()
                    elif self.subscribers:
                        events = rows_to_events((await s.execute(query(JobEvent.id > last).limit(1000))).all())
                        if events:
                            last = events[-1].id
                            self._dispatch([e for e in events if self._watched(e.job_id)])
                    else:
                        last = (await s.execute(select(func.coalesce(func.max(JobEvent.id), 0)))).scalar_one()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("live: polling job events failed (%s)", e)
                self._resync_all()
            await asyncio.sleep(self.poll_seconds)
