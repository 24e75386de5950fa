"""Wake-ups from PostgreSQL LISTEN/NOTIFY, so a worker starts a new job (and the relay sends a
new event) at once instead of at its next poll. Polling stays as the fallback: on SQLite, or
while the listening connection is down, `wait` simply times out."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("pravah.wakeup")
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
        self._event = asyncio.Event()
        self._conn = None

    async def _listen(self) -> None:
        import asyncpg

        try:
            self._conn = await asyncpg.connect(self.dsn, timeout=2)
            await self._conn.add_listener(self.channel, lambda *_: self._event.set())
        except Exception as e:  # down or restarting: polling covers it until the next wait
            log.warning("LISTEN %s unavailable (%s); polling only", self.channel, e)
            self._conn = None

    @property
    def listening(self) -> bool:
        """Whether a NOTIFY on the channel reaches this process now."""
        return self._conn is not None and not self._conn.is_closed()

    async def wait(self, timeout: float) -> None:
        """Until a notification or `timeout` seconds, whichever comes first."""
        if self.dsn and (self._conn is None or self._conn.is_closed()):
            await self._listen()
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            pass
        self._event.clear()

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
