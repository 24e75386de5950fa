"""Engine and session factory; migrations run at start-up so a fresh home just works."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

log = logging.getLogger("pravah.db")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 30})
    return create_async_engine(url, pool_pre_ping=True)


def make_read_engine(url: str, write_engine: AsyncEngine) -> AsyncEngine:
    """For the API's hot reads on PostgreSQL: autocommit (no BEGIN/ROLLBACK round trips) and no
    pre-ping (a round trip per checkout); `read()` retries once on a connection a restart
    killed instead. SQLite has no such costs: the write engine serves."""
    if url.startswith("sqlite"):
        return write_engine
    return create_async_engine(url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, pool_size=16, max_overflow=0)


async def read(engine: AsyncEngine, query: Executable) -> list[Row]:
    """All rows of `query`, retried once if the pooled connection turned out dead."""
    for attempt in (1, 2):
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(query)).all())
        except DBAPIError as e:
            if attempt == 2 or not e.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def sessions(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def migrate(url: str, retry_seconds: float = 0.0) -> None:
    """Bring the schema to head (blocking; call before serving). With `retry_seconds`, a
    database that is not reachable yet (starting, restarting) is waited for that long."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    deadline, delay = time.monotonic() + retry_seconds, 0.5
    while True:
        try:
            command.upgrade(cfg, "head")
            return
        except (OperationalError, DBAPIError, OSError) as e:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database not ready (%s); retrying in %.1f s", str(e).splitlines()[0], delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
