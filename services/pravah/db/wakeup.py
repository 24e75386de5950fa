"""Wake-ups from PostgreSQL LISTEN/NOTIFY, so a worker starts a new job (and the relay sends a
new event) at once instead of at its next poll. Polling stays as the fallback: on SQLite, or
while the listening connection is down, `wait` simply times out."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("pravah.wakeup")
# A trigger notifies JOBS for every insert into jobs and OUTBOX for every insert into outbox
# (migration 0009); `notify` is for the other changes (a job made runnable again).
JOBS = "pravah_jobs"  # a job became runnable
OUTBOX = "pravah_outbox"  # a completion event waits to be published
APPLIED = "pravah_applied"  # `pravah apply` stored a new live document


async def notify(session: AsyncSession, channel: str) -> None:
    """Queue a NOTIFY; PostgreSQL delivers it when the transaction commits."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:c, '')"), {"c": channel})


class Wakeup:
    def __init__(self, url: str, channel: str):
        u = make_url(url)
        self.dsn = u.set(drivername="postgresql").render_as_string(hide_password=False) if u.get_backend_name() == "postgresql" else None
        self.channel = channel
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pending = False  # woken with nobody waiting: the next `wait` returns at once
        self._conn = None

    async def _listen(self) -> None:
        import asyncpg

        try:
            self._conn = await asyncpg.connect(self.dsn, timeout=2)
            await self._conn.add_listener(self.channel, lambda *_: self.wake())
        except Exception as e:  # down or restarting: polling covers it until the next wait
            log.warning("LISTEN %s unavailable (%s); polling only", self.channel, e)
            self._conn = None

    @property
    def listening(self) -> bool:
        """Whether a NOTIFY on the channel reaches this process now."""
        return self._conn is not None and not self._conn.is_closed()

    def wake(self) -> None:
        """Wake one waiter, the longest waiting; with none, the next `wait` returns at once. One,
        not all: a notification says only that there is work, and every woken worker slot would
        race for the same new job, the losers' claims slowing the winner's."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._pending = True

    async def wait(self, timeout: float) -> None:
        """Until woken or `timeout` seconds, whichever comes first."""
        if self.dsn and (self._conn is None or self._conn.is_closed()):
            await self._listen()
        if self._pending:
            self._pending = False
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:  # timed out (or cancelled): no wake is owed to it
                self._waiters.remove(waiter)

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
