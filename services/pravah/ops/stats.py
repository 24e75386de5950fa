"""The platform's numbers, read from the database (so every API process agrees): jobs by
status, queue depth, the oldest runnable job's age, per window (1 h, 24 h, 7 d) throughput,
error rate and p50/p95 time from upload to final status, finishes per hour or day for the
charts, live and silent workers, open uploads, recent dead letters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.clock import aware
from pravah.db.models import Job, Status
from pravah.ops.heartbeats import DEAD_AFTER
from pravah.ops.models import DeadLetterRow, WorkerBeat
from pravah.uploads.models import Upload, UploadStatus

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEAD_SHOWN = 10
DURATION_SAMPLE = 10_000  # newest finishes a window's percentiles are taken over


@dataclass
class Window:
    name: str
    succeeded: int
    failed: int
    cancelled: int
    per_minute: float
    error_rate: float | None  # failed / (succeeded + failed); None with no finishes
    p50_seconds: float | None
    p95_seconds: float | None
    sampled: int


@dataclass
class WorkerInfo:
    id: str
    host: str
    pid: int
    concurrency: int
    jobs: list[str]
    started_at: datetime
    seen_at: datetime
    alive: bool


@dataclass
class Bar:
    at: datetime
    succeeded: int
    failed: int


@dataclass
class Summary:
    at: datetime
    jobs: dict[str, int]
    runnable: int  # PENDING and due now: the queue
    retry_waiting: int  # PENDING, waiting out a retry backoff
    oldest_runnable_seconds: float
    windows: list[Window]
    workers: list[WorkerInfo]
    open_uploads: int
    dead_letters_24h: int = 0
    dead_letters: list[dict] = field(default_factory=list)  # the newest few: at, origin, reason, size, head
    hourly: list[Bar] = field(default_factory=list)  # the last 24 h
    daily: list[Bar] = field(default_factory=list)  # the last 7 d


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


async def _window(s: AsyncSession, name: str, t: datetime) -> Window:
    span = WINDOWS[name]
    since = t - span
    counts = dict((await s.execute(select(Job.status, func.count()).where(Job.status.in_(Status.FINAL), Job.finished_at >= since)
                                   .group_by(Job.status))).all())
    ok, bad, cancelled = counts.get(Status.SUCCEEDED, 0), counts.get(Status.FAILED, 0), counts.get(Status.CANCELLED, 0)
    rows = (await s.execute(select(Job.created_at, Job.finished_at)
                            .where(Job.status.in_((Status.SUCCEEDED, Status.FAILED)), Job.finished_at >= since)
                            .order_by(Job.finished_at.desc()).limit(DURATION_SAMPLE))).all()
    durations = sorted((aware(f) - aware(c)).total_seconds() for c, f in rows)
    return Window(name, ok, bad, cancelled, round((ok + bad + cancelled) / (span.total_seconds() / 60), 3),
                  round(bad / (ok + bad), 4) if ok + bad else None, percentile(durations, 0.5), percentile(durations, 0.95), len(durations))


def _truncate(s: AsyncSession, col: Any, unit: str) -> Any:
    if s.bind.dialect.name == "postgresql":
        return func.date_trunc(unit, col)
    return func.strftime("%Y-%m-%dT%H:00:00" if unit == "hour" else "%Y-%m-%dT00:00:00", col)


async def _bars(s: AsyncSession, t: datetime, unit: str, n: int) -> list[Bar]:
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start = (t.replace(minute=0, second=0, microsecond=0) if unit == "hour" else t.replace(hour=0, minute=0, second=0, microsecond=0)) - step * (n - 1)
    slot = _truncate(s, Job.finished_at, unit)
    got: dict[datetime, dict[str, int]] = {}
    q = (select(slot, Job.status, func.count()).where(Job.status.in_((Status.SUCCEEDED, Status.FAILED)), Job.finished_at >= start)
         .group_by(slot, Job.status))
    for at, status, count in (await s.execute(q)).all():
        at = aware(datetime.fromisoformat(at) if isinstance(at, str) else at)
        got.setdefault(at, {})[status] = count
    return [Bar(start + step * i, got.get(start + step * i, {}).get(Status.SUCCEEDED, 0), got.get(start + step * i, {}).get(Status.FAILED, 0))
            for i in range(n)]


async def summary(s: AsyncSession, *, charts: bool = True, windows: bool = True) -> Summary:
    """`windows` and `charts` read the last 7 days of finishes: a page's 5-second refresh of the
    tiles asks for neither."""
    t = datetime.now(UTC)
    by_status = dict((await s.execute(select(Job.status, func.count()).group_by(Job.status))).all())
    pending = Job.status == Status.PENDING
    runnable = (await s.execute(select(func.count(), func.min(Job.created_at)).where(pending, Job.next_attempt_at <= t))).one()
    waiting = (await s.execute(select(func.count()).where(pending, Job.next_attempt_at > t))).scalar_one()
    beats = (await s.execute(select(WorkerBeat).order_by(WorkerBeat.started_at))).scalars().all()
    uploads = (await s.execute(select(func.count()).where(Upload.status == UploadStatus.OPEN))).scalar_one()
    dead_day = (await s.execute(select(func.count()).where(DeadLetterRow.at >= t - timedelta(hours=24)))).scalar_one()
    dead = (await s.execute(select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(DEAD_SHOWN))).scalars().all()
    return Summary(
        at=t,
        jobs={k: by_status.get(k, 0) for k in (Status.PENDING, Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)},
        runnable=runnable[0],
        retry_waiting=waiting,
        oldest_runnable_seconds=round((t - aware(runnable[1])).total_seconds(), 1) if runnable[1] else 0.0,
        windows=[await _window(s, name, t) for name in WINDOWS] if windows else [],
        workers=[WorkerInfo(w.id, w.host, w.pid, w.concurrency, list(w.jobs or []), aware(w.started_at), aware(w.seen_at),
                            t - aware(w.seen_at) < DEAD_AFTER) for w in beats],
        open_uploads=uploads,
        dead_letters_24h=dead_day,
        dead_letters=[{"at": aware(d.at), "origin": d.origin, "reason": d.reason, "size": d.size, "head": d.head} for d in dead],
        hourly=await _bars(s, t, "hour", 24) if charts else [],
        daily=await _bars(s, t, "day", 7) if charts else [],
    )
