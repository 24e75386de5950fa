"""Engine and session factory; migrations run at start-up so a fresh home just works."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Executable, Row, event, inspect, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_

log = logging.getLogger("pravah.db")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The newest migration's revision. A database already there is left alone without importing
# alembic and loading the migrations (0.1 s of CPU at every start, 0.3 s without cached
# bytecode). tests/unit/test_migrate.py fails while it is not alembic's head: a new migration
# updates it.
HEAD = "0009"
T = TypeVar("T")


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _stop_once)
        event.listen(engine.sync_engine, "connect", _wal)
        return engine
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "checkout", _ping)
    return engine


def _stop_once(dbapi_connection: object, record: object) -> None:
    """An aiosqlite connection's worker thread is told to stop once. SQLAlchemy ends a connection
    cancelled mid-use with a graceful close in a task of its own and, when that is cancelled too,
    a forced stop. The graceful close then asks for a second stop in its `finally`, queued behind
    the first one, which the thread never reads: it has already ended. The close waits forever,
    and so does the event loop's shutdown, which waits for it (`make run` hung at exit in about
    one run of three). A stop already asked for is not asked again, so nothing waits on it."""
    conn = dbapi_connection.driver_connection  # type: ignore[attr-defined]
    stop = conn.stop

    def once() -> asyncio.Future | None:
        return stop() if conn._running else None  # aiosqlite clears _running in stop()

    conn.stop = once


def _wal(dbapi_connection: object, record: object) -> None:
    """Write-ahead logging: readers never hold up a writer. In SQLite's default journal mode a
    commit waits for every reader to let go, and a read cancelled mid-statement (a task group
    cancelled while its query ran) leaves its cursor, and that lock, until the garbage collector
    finalises it: a worker's finish then waited the whole 30 s busy timeout and failed (CI, a job
    stopped by its timeout while its progress watcher was reading). The mode is kept in the file;
    commits stay fully synchronous, so nothing committed is lost in a crash."""
    cur = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _ping(dbapi_connection: object, record: object, proxy: object) -> None:
    """Pre-ping in one round trip. SQLAlchemy's own for asyncpg is BEGIN, `;`, ROLLBACK: three
    at every checkout, four checkouts on a small job's path (ingest, claim, record, relay). A
    simple-protocol query prepares nothing, so it is as safe behind a transaction-mode pooler. A
    connection that fails it went with a restart, and so did its pool-mates: all are replaced."""
    try:
        await_(dbapi_connection.driver_connection.execute("SELECT 1"))  # type: ignore[attr-defined]
    except Exception as e:
        raise InvalidatePoolError(f"pre-ping failed: {e}") from e


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
    deadline, delay = time.monotonic() + retry_seconds, 0.5
    while True:
        try:
            if on_own_loop(_revisions, url) != [HEAD]:
                _upgrade(url)
            return
        except (OperationalError, DBAPIError, OSError) as e:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database not ready (%s); retrying in %.1f s", str(e).splitlines()[0], delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def on_own_loop(fn: Callable[[str], Awaitable[T]], url: str) -> T:
    """`fn(url)` on an event loop of its own, in a thread: migrate() may be called from inside a
    running one (tests, `pravah up`)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(fn(url)))
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return result[0]


async def _revisions(url: str) -> list[str]:
    """The revisions alembic_version holds (none on a fresh database)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read_revisions)
    finally:
        await engine.dispose()


def _read_revisions(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _upgrade(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")
