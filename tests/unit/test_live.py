"""Live streams on SQLite (embedded mode's polling hub): a snapshot first, events in order,
a resume past Last-Event-ID repeats and misses nothing, a final status ends the stream."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio

from pravah import jobs
from pravah.accounts.principal import Principal
from pravah.db.models import Job, Status
from pravah.db.session import make_engine, sessions
from pravah.events import ObjectEvent
from pravah.live import record
from pravah.live.hub import Hub
from pravah.live.models import Kind
from pravah.live.stream import all_stream, job_stream
from pravah.pipelines import Binding, Pipeline
from pravah.routing import Route

PIPE = Pipeline(name="p", steps=[{"op": "sha256"}], output="out/{key}.sha")


async def _job(s, bucket: str, key: str) -> Job:
    ev = ObjectEvent(bucket=bucket, key=key, size=10, etag="e", event_time=datetime.now(UTC))
    (job_id,) = await jobs.create_jobs(s, [jobs.job_row(ev, Route(Binding(bucket=bucket, pipeline="p"), PIPE), jobs.now())])
    await s.commit()
    return await s.get(Job, job_id)


def test_job_stream_snapshot_order_resume_and_end(db_url: str) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        made = sessions(eng)
        hub = Hub(made, db_url, poll_seconds=0.02)
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.run)
            async with made() as s:
                job = await _job(s, "in", "a/x")
                other = await _job(s, "in", "b/y")
            seen: list = []

            async def consume() -> None:
                async for it in job_stream(made, hub, job, None):
                    seen.append(it)

            async def produce() -> None:
                await anyio.sleep(0.2)
                async with made() as s:
                    for i in range(5):
                        record.emit(s, job.id, Kind.PROGRESS, bytes_in=i)
                        record.emit(s, other.id, Kind.PROGRESS, bytes_in=100 + i)  # another job's: not in this stream
                        await s.commit()
                    record.status(s, job.id, Status.SUCCEEDED)
                    await s.commit()

            async with anyio.create_task_group() as inner:
                inner.start_soon(consume)
                inner.start_soon(produce)
            assert seen[0].event == "snapshot" and seen[0].data["status"] == "PENDING"
            assert [it.data.get("bytes_in") for it in seen if it.event == "progress"] == [0, 1, 2, 3, 4]
            assert seen[-2].event == "status" and seen[-1].event == "end" and seen[-1].data["status"] == "SUCCEEDED"
            ids = [it.id for it in seen[1:-1]]
            assert ids == sorted(ids)
            # Resume after the third event: the rest, once each, then the end.
            resumed = [it async for it in job_stream(made, hub, job, ids[2])]
            assert [it.id for it in resumed[:-1]] == ids[3:] and resumed[-1].event == "end"

            # The all-jobs stream of a caller who sees only b/: the other job's events only.
            caller = Principal(kind="user", id="u", name="u", tenant_id="t", tenant="t", role="user", scopes=("in/b/",), inbox="in/b/",
                               permissions=frozenset({"read"}))
            got = []
            async for it in all_stream(made, hub, caller, 0):
                got.append(it)
                if len(got) == 6:
                    break
            assert got[0].event == "ready" and {it.data["job_id"] for it in got[1:]} == {other.id}
            tg.cancel_scope.cancel()
        await eng.dispose()

    anyio.run(go)
