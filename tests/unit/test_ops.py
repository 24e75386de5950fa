"""The operations numbers on SQLite: heartbeats (alive, silent, gone after a clean stop),
dead letters recorded and counted, windows and per-hour bars from the jobs table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import update

from pravah import jobs
from pravah.db.models import Job
from pravah.db.session import make_engine, sessions
from pravah.events import ObjectEvent
from pravah.ops import dead_letters, heartbeats, stats
from pravah.ops.models import WorkerBeat
from pravah.pipelines import Binding, Pipeline
from pravah.routing import Route

ROUTE = Route(Binding(bucket="in", pipeline="p"), Pipeline(name="p", steps=[{"op": "sha256"}], output="out/{key}"))


def test_summary_counts_heartbeats_dead_letters_windows_and_bars(db_url: str) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        made = sessions(eng)
        t = datetime.now(UTC)
        async with made() as s:
            rows = [jobs.job_row(ObjectEvent(bucket="in", key=f"k{i}", size=1, etag=f"e{i}", event_time=t), ROUTE, t - timedelta(minutes=30))
                    for i in range(5)]
            ids = await jobs.create_jobs(s, rows)
            for i, job_id in enumerate(ids[:3]):  # 2 succeeded, 1 failed, 10 minutes after creation; 2 still pending
                await s.execute(update(Job).where(Job.id == job_id).values(
                    status="SUCCEEDED" if i < 2 else "FAILED", finished_at=t - timedelta(minutes=20)))
            await s.commit()
        await heartbeats.beat(made, "alive-1", 2, {ids[3]}, t)
        await heartbeats.beat(made, "silent-1", 1, set(), t)
        async with made() as s:
            await s.execute(update(WorkerBeat).where(WorkerBeat.id == "silent-1").values(seen_at=t - timedelta(minutes=5)))
            await s.commit()
        await dead_letters.record(made, [("pravah.objects/0/7", "not JSON", b"{broken")])
        async with made() as s:
            got = await stats.summary(s)
        assert got.jobs["SUCCEEDED"] == 2 and got.jobs["FAILED"] == 1 and got.jobs["PENDING"] == 2 and got.runnable == 2
        assert 30 * 60 - 5 < got.oldest_runnable_seconds < 30 * 60 + 60
        hour = next(w for w in got.windows if w.name == "1h")
        assert (hour.succeeded, hour.failed, hour.error_rate) == (2, 1, round(1 / 3, 4))
        assert hour.p50_seconds is not None and abs(hour.p50_seconds - 600) < 5  # created → finished: 10 minutes
        assert sum(b.succeeded for b in got.hourly) == 2 and sum(b.failed for b in got.hourly) == 1 and len(got.hourly) == 24
        alive = {w.id: w.alive for w in got.workers}
        assert alive == {"alive-1": True, "silent-1": False}
        assert next(w for w in got.workers if w.id == "alive-1").jobs == [ids[3]]
        assert got.dead_letters_24h == 1 and got.dead_letters[0]["reason"] == "not JSON" and got.dead_letters[0]["head"] == "{broken"

        # a worker that stops cleanly takes its row with it
        running: set[str] = set()
        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeats.keep_beating, made, "short-1", 1, running)
            await anyio.sleep(0.3)
            async with made() as s:
                assert await s.get(WorkerBeat, "short-1") is not None
            tg.cancel_scope.cancel()
        async with made() as s:
            assert await s.get(WorkerBeat, "short-1") is None
        await eng.dispose()

    anyio.run(go)
