"""The database gauges read real rows at scrape time (SQLite here; the stack test reads them on
PostgreSQL through a live API): workers alive by heartbeat, dead letters per window, jobs. The
ops port of a process without the API serves its counters alone, with no database query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from pravah import jobs, metrics
from pravah.db.session import make_engine, sessions
from pravah.events import ObjectEvent
from pravah.ops import dead_letters, heartbeats
from pravah.ops.models import DeadLetterRow, WorkerBeat
from pravah.pipelines import Binding, Pipeline
from pravah.routing import Route

ROUTE = Route(Binding(bucket="in", pipeline="p"), Pipeline(name="p", steps=[{"op": "sha256"}], output="out/{key}"))


def samples(text: bytes) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def test_gauges_count_live_workers_recent_dead_letters_and_jobs(db_url: str) -> None:
    async def go() -> dict:
        eng = make_engine(db_url)
        made = sessions(eng)
        t = datetime.now(UTC)
        for owner, silent in (("w1", 0), ("w2", 10), ("w3", 31), ("w4", 600)):  # seconds since the last beat
            await heartbeats.beat(made, owner, 2, set(), t)
            async with made() as s:
                await s.execute(update(WorkerBeat).where(WorkerBeat.id == owner).values(seen_at=t - timedelta(seconds=silent)))
                await s.commit()
        for minutes in (1, 14, 20, 50, 61, 300, 23 * 60, 25 * 60, 40 * 24 * 60):
            await dead_letters.record(made, [("pravah.objects/0/1", "not JSON", b"{")])
            async with made() as s:  # the newest row is the one just recorded: give it its age
                newest = max((await s.execute(DeadLetterRow.__table__.select())).all(), key=lambda r: r.id)
                await s.execute(update(DeadLetterRow).where(DeadLetterRow.id == newest.id).values(at=t - timedelta(minutes=minutes)))
                await s.commit()
        async with made() as s:
            rows = [jobs.job_row(ObjectEvent(bucket="in", key=f"k{i}", size=1, etag=f"e{i}", event_time=t), ROUTE, t) for i in range(3)]
            await jobs.create_jobs(s, rows)
            await s.commit()
            body, content_type = await metrics.render(s)
        await eng.dispose()
        assert content_type.startswith("text/plain")
        return samples(body)

    got = anyio.run(go)
    assert got[("pravah_workers", ())] == 2  # w3 and w4 are silent past 30 s
    assert {w: got[("pravah_dead_letters", (("window", w),))] for w in ("15m", "1h", "24h")} == {"15m": 2, "1h": 4, "24h": 7}
    assert got[("pravah_jobs", (("status", "PENDING"),))] == 3 and got[("pravah_jobs", (("status", "RUNNING"),))] == 0
    assert 0 <= got[("pravah_oldest_pending_seconds", ())] < 60
    assert ("pravah_events_published_total", ()) in got  # and the process's own counters


def test_ops_port_metrics_are_the_process_counters_only() -> None:
    before = metrics.HANDED_BACK._value.get()
    metrics.HANDED_BACK.inc()
    body, _ = metrics.render_own()
    got = samples(body)
    assert got[("pravah_jobs_handed_back_total", ())] == before + 1
    names = {name for name, _ in got}
    assert not names & {"pravah_jobs", "pravah_workers", "pravah_dead_letters", "pravah_oldest_pending_seconds"}
