"""The claim (one UPDATE … RETURNING, tests/services/test_postgres.py runs it on PostgreSQL): a
dead worker's job and first attempts before retries, each oldest due first; a take-over counts
an attempt and says so in the job's log, a first attempt or a retry does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import update

from pravah import jobs
from pravah.db.models import Job, Status
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
