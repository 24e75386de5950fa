"""Job store behaviour on real PostgreSQL: migrations, idempotent creation, and claims by
concurrent workers (FOR UPDATE SKIP LOCKED) that never hand one job to two workers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import anyio
import asyncpg
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url

from pravah import jobs, registry, relay
from pravah.db import wakeup
from pravah.db.models import Job, OutboxEvent
from pravah.db.session import make_engine, migrate, sessions
from pravah.events import ObjectEvent
from pravah.ingest import IngestStats, ingest
from pravah.pipelines import Binding, Document, Pipeline, Runtime
from pravah.routing import Route, Router

PIPE = Pipeline(name="p", steps=[{"op": "read_csv"}, {"op": "write_parquet"}], output="out/{stem}.parquet")
ROUTE = Route(Binding(bucket="pg-in", prefix="", pipeline="p"), PIPE)


def event(i: int) -> ObjectEvent:
    return ObjectEvent(bucket="pg-in", key=f"k/{i}.csv", size=1, etag=f"e{i}", event_time=datetime.now(UTC))


async def claim_all(s, workers: int, pool: str | None = None) -> list[str]:
    """Claim with `workers` concurrent workers (of `pool`; None: any) until nothing is left; the ids claimed."""
    claimed: list[str] = []

    async def worker(n: int) -> None:
        while True:
            async with s() as session:
                job = await jobs.claim(session, f"w{n}", timedelta(seconds=30), pool)
            if job is None:
                return
            claimed.append(job.id)

    async with anyio.create_task_group() as tg:
        for n in range(workers):
            tg.start_soon(worker, n)
    return claimed


@pytest.fixture(scope="module")
def make(pg_url: str):
    migrate(pg_url)
    migrate(pg_url)  # a second run is a no-op
    return pg_url


def test_create_is_idempotent_and_claims_are_exclusive(make: str) -> None:
    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        async with s() as session:
            created = [await jobs.create_job(session, event(i), ROUTE) for i in range(40)]
            again = [await jobs.create_job(session, event(i), ROUTE) for i in range(40)]
            await session.commit()
        assert all(created) and not any(again)

        claimed = await claim_all(s, 6)
        assert sorted(claimed) == sorted(created)  # every job once, none twice
        await eng.dispose()

    anyio.run(go)


def pooled(name: str, pool: str) -> Route:
    """A route of bucket pg-in to a pipeline `name` whose jobs run in `pool`."""
    return Route(Binding(bucket="pg-in", prefix="", pipeline=name), PIPE.model_copy(update={"name": name, "runtime": Runtime(pool=pool)}))


def test_claims_keep_to_their_pool(make: str) -> None:
    """A pool's workers take only its jobs, the default pool's none of them (the claim index leads with the pool)."""
    route = pooled("h", "heavy")

    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        async with s() as session:
            created = await jobs.create_jobs(session, [jobs.job_row(event(1000 + i), route, datetime.now(UTC)) for i in range(10)])
            await session.commit()
            assert await jobs.claim(session, "w-default", timedelta(seconds=30), "default") is None
        assert sorted(await claim_all(s, 3, "heavy")) == sorted(created)
        await eng.dispose()

    anyio.run(go)


def test_registry_keeps_every_version_and_the_live_document(make: str) -> None:
    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        v2 = PIPE.model_copy(update={"retries": 5})
        async with s() as session:
            first = await registry.apply(session, Document(pipelines=[PIPE]), "one.yaml")
            second = await registry.apply(session, Document(pipelines=[v2]), "two.yaml")
            live_id, live_doc = await registry.live(session)
        assert (live_id, live_doc.pipelines[0].retries) == (second, 5) and second > first
        reg = registry.Registry(s)
        assert (await reg.pipeline("p", PIPE.version)).retries == PIPE.retries  # old version still runnable
        assert (await reg.pipeline("p", v2.version)).retries == 5
        assert await reg.pipeline("p", "nope") is None
        await eng.dispose()

    anyio.run(go)


def test_pooled_connections_the_server_ended_are_replaced_unseen(make: str) -> None:
    """The one-round-trip pre-ping: connections a restart ended are found at checkout and the
    pool replaced, so the caller's first statement after it does not fail."""

    async def go() -> None:
        eng = make_engine(make)

        async def backend() -> int:
            async with eng.connect() as conn:
                return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        pids: list[int] = []

        async def hold() -> None:
            pids.append(await backend())

        async with anyio.create_task_group() as tg:  # three connections, back in the pool after
            for _ in range(3):
                tg.start_soon(hold)
        other = make_engine(make)
        async with other.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(p) FROM unnest(CAST(:p AS int[])) p"), {"p": pids})
        await other.dispose()
        assert await backend() not in pids
        await eng.dispose()

    anyio.run(go)


def test_new_jobs_and_outbox_rows_notify_at_commit(make: str) -> None:
    """Migration 0009's triggers: a commit that created jobs wakes workers (one NOTIFY for the
    batch), one whose rows were all duplicates does not; a recorded outcome wakes the relay."""
    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        got: list[str] = []
        listener = await asyncpg.connect(make_url(make).set(drivername="postgresql").render_as_string(hide_password=False))
        for channel in (wakeup.JOBS, wakeup.OUTBOX):
            await listener.add_listener(channel, lambda _c, _p, channel, _payload: got.append(channel))

        async def heard() -> list[str]:
            await anyio.sleep(0.3)  # delivered at commit; this waits out the listener's read
            out = list(got)
            got.clear()
            return out

        rows = [jobs.job_row(event(2000 + i), ROUTE, datetime.now(UTC)) for i in range(3)]
        async with s() as session:
            assert len(await jobs.create_jobs(session, rows)) == 3
            assert await heard() == []  # not before the commit
            await session.commit()
        assert await heard() == [wakeup.JOBS]
        async with s() as session:
            assert await jobs.create_jobs(session, [{**r, "id": uuid.uuid4().hex} for r in rows]) == []
            await session.commit()
        assert await heard() == []
        async with s() as session:
            job = await jobs.claim(session, "w", timedelta(seconds=30))
        await heard()
        async with s() as session:
            assert await jobs.finish(session, job, "w", jobs.Outcome(True, report={"duration_ms": 1}), timedelta(seconds=1)) == "SUCCEEDED"
        assert await heard() == [wakeup.OUTBOX]
        await listener.close()
        await eng.dispose()

    anyio.run(go)


def test_finish_reads_the_job_again_only_when_it_changed(make: str) -> None:
    """finish matches the row as claimed (its updated_at, to the microsecond): no read; after a
    cancel request's log line it reads the row (locked) and keeps that line."""

    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        async with s() as session:
            await jobs.create_jobs(session, [jobs.job_row(event(3000 + i), ROUTE, datetime(2020, 1, 1, tzinfo=UTC)) for i in range(2)])
            await session.commit()
        claimed = []
        for _ in range(2):
            async with s() as session:
                claimed.append(await jobs.claim(session, "fin", timedelta(seconds=30)))
        plain, asked = claimed
        async with s() as session:
            await session.execute(update(Job).where(Job.id == asked.id).values(
                cancel_requested_at=datetime.now(UTC), updated_at=datetime.now(UTC), log=jobs.logged(asked.log, "cancel requested by me")))
            await session.commit()
        reads: list[str] = []
        sa_event.listen(eng.sync_engine, "before_cursor_execute", lambda _c, _cur, sql, *_: reads.append(sql) if sql.startswith("SELECT") else None)
        async with s() as session:
            assert await jobs.finish(session, plain, "fin", jobs.Outcome(True, report={"duration_ms": 1}), timedelta(seconds=1)) == "SUCCEEDED"
        assert reads == []
        async with s() as session:
            assert await jobs.finish(session, asked, "fin", jobs.Outcome(False, error="x", cancelled=True), timedelta(seconds=1)) == "CANCELLED"
            log = (await session.execute(select(Job.log).where(Job.id == asked.id))).scalar_one()
        assert len(reads) == 2 and "FOR UPDATE" in reads[0]
        assert [line.split(" ", 1)[1] for line in log[-2:]] == ["cancel requested by me", "cancelled: x"]
        await eng.dispose()

    anyio.run(go)


def test_a_take_says_whether_another_job_was_runnable(make: str) -> None:
    """The worker wakes another slot only when its claim saw another runnable job of its pool."""
    route = pooled("solo", "solo")

    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        async with s() as session:
            await jobs.create_jobs(session, [jobs.job_row(event(4000 + i), route, datetime.now(UTC)) for i in range(2)])
            await session.commit()
        got = []
        for _ in range(3):
            async with s() as session:
                job, more = await jobs.take(session, "t", timedelta(seconds=30), "solo")
            got.append((job is not None, more))
        assert got == [(True, True), (True, False), (False, False)]
        await eng.dispose()

    anyio.run(go)


def test_the_relay_sends_and_marks_without_a_transaction(make: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """relay_once in autocommit: the outbox rows are sent once and marked, with no BEGIN or
    COMMIT round trip (the checkout's one-statement pre-ping is the only other query)."""
    sent: list[dict] = []
    queries: list[str] = []
    execute = asyncpg.Connection.execute

    async def counted(self, query: str, *args, **kw):
        queries.append(query.split()[0].rstrip(";"))
        return await execute(self, query, *args, **kw)

    class Sink:
        async def publish(self, payloads: list[dict]) -> None:
            sent.extend(payloads)

    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        async with s() as session:
            job_id = (await jobs.create_jobs(session, [jobs.job_row(event(5000), ROUTE, datetime.now(UTC))]))[0]
            await session.execute(update(OutboxEvent).values(published_at=datetime.now(UTC)))  # the other tests' events
            await session.execute(insert(OutboxEvent).values(event_id=f"{job_id}.x", job_id=job_id, type="t", payload={"n": 1},
                                                             created_at=datetime.now(UTC)))
            await session.commit()
        monkeypatch.setattr(asyncpg.Connection, "execute", counted)
        assert await relay.relay_once(s, Sink()) == 1
        assert await relay.relay_once(s, Sink()) == 0
        assert sent == [{"n": 1}] and queries == ["SELECT", "SELECT"]
        await eng.dispose()

    anyio.run(go)


@pytest.mark.parametrize("n", [1, 1001])
def test_ingest_of_one_insert_statement_needs_no_transaction(make: str, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest's batch in one INSERT runs in autocommit (no BEGIN or COMMIT round trip); one that
    SQLAlchemy splits into pages (past 1,000 rows) stays in one transaction. Both create every job."""
    queries: list[str] = []
    execute = asyncpg.Connection.execute

    async def counted(self, query: str, *args, **kw):
        queries.append(query.split()[0].rstrip(";"))
        return await execute(self, query, *args, **kw)

    router = Router(Document(pipelines=[PIPE], bindings=[ROUTE.binding]))

    async def go() -> None:
        eng = make_engine(make)
        s = sessions(eng)
        stats = IngestStats()
        async with eng.connect():  # the first connection's set-up queries
            pass
        monkeypatch.setattr(asyncpg.Connection, "execute", counted)
        await ingest(s, router, [event(10_000 * n + i) for i in range(n)], stats)
        assert stats.created == n
        assert ("BEGIN" in queries, "COMMIT" in queries) == ((False, False) if n == 1 else (True, True))
        await eng.dispose()

    anyio.run(go)
