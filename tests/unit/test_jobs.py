"""The claim (one UPDATE … RETURNING, tests/services/test_postgres.py runs it on PostgreSQL): a
dead worker's job and first attempts before retries, each oldest due first; a take-over counts
an attempt and says so in the job's log, a first attempt or a retry does not. The finish: what
each outcome writes, and a job changed or taken over since its claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from pravah import jobs
from pravah.db.models import Job, OutboxEvent, Status
from pravah.live.models import JobEvent
from pravah.db.session import make_engine, sessions
from pravah.events import ObjectEvent
from pravah.pipelines import Binding, Pipeline
from pravah.routing import Route

PIPE = Pipeline(name="p", steps=[{"op": "gzip"}], output="out/{name}.gz")
ROUTE = Route(Binding(bucket="in", pipeline="p"), PIPE)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def event(name: str) -> ObjectEvent:
    return ObjectEvent(bucket="in", key=f"{name}.txt", size=1, etag=name, event_time=datetime.now(UTC))


def test_claim_order_and_what_a_take_over_records(db_url: str) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            ids = dict(zip(["dead", "retry", "fresh"], await jobs.create_jobs(session, [
                jobs.job_row(event(n), ROUTE, LONG_AGO + timedelta(days=i)) for i, n in enumerate(["dead", "retry", "fresh"])]), strict=True))
            await session.execute(update(Job).where(Job.id == ids["dead"]).values(status=Status.RUNNING, attempts=1, lease_owner="gone",
                                                                                lease_expires_at=LONG_AGO))
            await session.execute(update(Job).where(Job.id == ids["retry"]).values(attempts=1))
            await session.commit()
        got = []
        for _ in range(4):
            async with s() as session:
                job = await jobs.claim(session, "w", timedelta(seconds=30))
            got.append(job and (job.id, job.attempts, sum("taken over" in line for line in job.log)))
        assert got == [(ids["dead"], 2, 1), (ids["fresh"], 1, 0), (ids["retry"], 2, 0), None]
        await eng.dispose()

    anyio.run(go)


def test_what_finish_writes_for_each_outcome(db_url: str) -> None:
    """The job row, its events in order, and a completion event for a final state only; a cancel
    request's log line written after the claim is kept; a job taken over writes nothing."""
    retried = Pipeline(name="p", steps=[{"op": "gzip"}], output="out/{name}.gz", retries=2)

    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            ids = await jobs.create_jobs(session, [jobs.job_row(event(n), Route(ROUTE.binding, retried), LONG_AGO + timedelta(days=i))
                                                   for i, n in enumerate(["ok", "cancel", "retry", "lost"])])
            await session.commit()
        claimed = []
        for _ in ids:
            async with s() as session:
                claimed.append(await jobs.claim(session, "w", timedelta(seconds=30)))
        ok, cancel, retry, lost = claimed
        async with s() as session:  # what control.cancel does to a RUNNING job, and a take-over
            await session.execute(update(Job).where(Job.id == cancel.id).values(
                cancel_requested_at=datetime.now(UTC), updated_at=datetime.now(UTC), log=jobs.logged(cancel.log, "cancel requested by me")))
            await session.execute(update(Job).where(Job.id == lost.id).values(lease_owner="other"))
            await session.commit()
        backoff = timedelta(seconds=60)
        reads: list[str] = []
        sa_event.listen(eng.sync_engine, "before_cursor_execute", lambda _c, _cur, sql, *_: reads.append(sql) if sql.startswith("SELECT") else None)
        got = []
        for job, outcome in [(ok, jobs.Outcome(True, report={"duration_ms": 5, "outputs": []})),
                             (cancel, jobs.Outcome(False, error="on request", cancelled=True)),
                             (retry, jobs.Outcome(False, error="boom", retryable=True)),
                             (lost, jobs.Outcome(True, report={"duration_ms": 5}))]:
            async with s() as session:
                got.append(await jobs.finish(session, job, "w", outcome, backoff))
        assert got == ["SUCCEEDED", "CANCELLED", "PENDING", "LOST"]
        assert len(reads) == 2  # the row is read again only where it changed since the claim (the cancel request, the take-over)
        async with s() as session:
            rows = {j.id: j for j in (await session.execute(select(Job))).scalars()}
            events = [(e.job_id, e.kind, e.data.get("status") or e.data.get("line"))
                      for e in (await session.execute(select(JobEvent).order_by(JobEvent.id))).scalars()]
            outbox = [(o.job_id, o.event_id) for o in (await session.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars()]
        assert rows[ok.id].status == "SUCCEEDED" and rows[ok.id].report == {"duration_ms": 5, "outputs": []}
        assert rows[ok.id].finished_at is not None and rows[ok.id].lease_owner is None and rows[ok.id].lease_expires_at is None
        assert rows[ok.id].log[-1].endswith("succeeded in 5 ms")
        assert [line.split(" ", 1)[1] for line in rows[cancel.id].log[-2:]] == ["cancel requested by me", "cancelled: on request"]
        assert rows[cancel.id].status == "CANCELLED" and rows[cancel.id].error == "on request"
        assert rows[retry.id].status == "PENDING" and rows[retry.id].error == "boom" and rows[retry.id].finished_at is None
        assert rows[retry.id].next_attempt_at > datetime.now(UTC) + timedelta(seconds=50) and rows[retry.id].lease_owner is None
        assert rows[lost.id].status == "RUNNING" and rows[lost.id].lease_owner == "other" and rows[lost.id].log == lost.log
        assert [e for e in events if e[1] != "status" or e[2] != "RUNNING"] == [
            (ok.id, "log", "succeeded in 5 ms"), (ok.id, "status", "SUCCEEDED"),
            (cancel.id, "log", "cancelled: on request"), (cancel.id, "status", "CANCELLED"),
            (retry.id, "log", "attempt 1 failed, retrying in 60.0s: boom"), (retry.id, "status", "PENDING")]
        assert outbox == [(ok.id, f"{ok.id}.succeeded"), (cancel.id, f"{cancel.id}.cancelled")]
        assert (ok.status, ok.finished_at, ok.lease_owner) == ("SUCCEEDED", rows[ok.id].finished_at, None)  # the worker's copy too
        await eng.dispose()

    anyio.run(go)
