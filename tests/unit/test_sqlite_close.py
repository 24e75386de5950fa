"""Embedded mode's SQLite connections close even when a forced stop overtakes a graceful close:
what SQLAlchemy does to a connection cancelled mid-use. Before, the close waited forever, and the
event loop's shutdown with it (`make run` hung at exit in about one run of three). And a read
left open, as a cancelled one is until the garbage collector finalises its cursor, does not hold
up another connection's commit."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from pravah.db.session import make_engine


def test_a_close_overtaken_by_a_forced_stop_still_ends(db_url: str) -> None:
    async def go() -> None:
        engine = make_engine(db_url)
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT 1"))).scalar() == 1
            conn = (await c.get_raw_connection()).driver_connection
            closing = asyncio.create_task(conn.close())  # SQLAlchemy's graceful close, in a task
            await asyncio.sleep(0)  # its close is queued to the connection's thread
            conn.stop()  # and the forced stop behind it, as when that task is cancelled
            await asyncio.wait_for(closing, 5)  # ends: its own stop is not queued a second time
            await asyncio.to_thread(conn._thread.join, 5)
            assert not conn._thread.is_alive()
            await c.invalidate()
        await engine.dispose()

    asyncio.run(go())


def test_a_stopped_connection_is_not_stopped_again(db_url: str) -> None:
    async def go() -> None:
        engine = make_engine(db_url)
        async with engine.connect() as c:
            conn = (await c.get_raw_connection()).driver_connection
            first = conn.stop()
            assert first is not None
            await asyncio.wait_for(first, 5)
            assert conn.stop() is None  # nothing would ever answer a second one
            await c.invalidate()
        await engine.dispose()

    asyncio.run(go())


def test_a_read_left_open_does_not_hold_up_a_commit(db_url: str) -> None:
    async def go() -> None:
        engine = make_engine(db_url)
        async with engine.begin() as c:
            await c.execute(text("CREATE TABLE t (x INTEGER)"))
            await c.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
        async with engine.connect() as reader:
            raw = (await reader.get_raw_connection()).driver_connection
            cursor = await raw.execute("SELECT x FROM t")
            assert await cursor.fetchone() == (1,)  # the statement stays open, mid-result

            async def write() -> None:
                async with engine.begin() as writer:  # in the default journal mode its commit
                    await writer.execute(text("INSERT INTO t VALUES (4)"))  # waits 30 s and fails

            await asyncio.wait_for(write(), 5)
            assert await cursor.fetchone() == (2,)  # the reader still reads its snapshot
            await cursor.close()
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT count(*) FROM t"))).scalar() == 4
        await engine.dispose()

    asyncio.run(go())
