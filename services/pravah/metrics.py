"""Prometheus metrics. REGISTRY counts what this process did (its worker, ingest and relay) and
every process serves it: the API on /metrics, the others on their ops port. DATABASE holds the
system's numbers, read from the database when an API process is scraped (`render`), so any API
replica reports the whole system and no worker pod runs these queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.db.models import Job, Status
from pravah.ops.heartbeats import DEAD_AFTER
from pravah.ops.models import DeadLetterRow, WorkerBeat

REGISTRY = CollectorRegistry()
JOB_SECONDS = Histogram("pravah_job_duration_seconds", "Engine run time of finished attempts", ["pipeline", "outcome"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800), registry=REGISTRY)
BYTES_IN = Counter("pravah_bytes_processed", "Input bytes read by succeeded jobs", ["pipeline"], registry=REGISTRY)
BYTES_OUT = Counter("pravah_bytes_written", "Output bytes written by succeeded jobs", ["pipeline"], registry=REGISTRY)
INGESTED = Counter("pravah_ingest_events", "Object events seen by ingest, by outcome", ["outcome"], registry=REGISTRY)
INGEST_LAG = Gauge("pravah_ingest_lag_messages", "Messages behind the end of the object topic, per partition", ["partition"], registry=REGISTRY)
LIMITS = Counter("pravah_limit_exceeded", "Jobs failed by one of their pipeline's limits", ["pipeline", "limit"], registry=REGISTRY)
PUBLISHED = Counter("pravah_events_published", "Completion events published by the relay", registry=REGISTRY)
RECONCILED = Counter("pravah_reconciled", "Jobs the reconcile sweep made for objects whose event never arrived", registry=REGISTRY)
POOL_RECONCILES = Counter("pravah_pool_reconciles", "Reconciles of the worker pools on Kubernetes (the controller role), by result", ["result"],
                          registry=REGISTRY)
INPUTS_DELETED = Counter("pravah_inputs_deleted", "Inputs deleted after their job succeeded (delete_input: true)", ["pipeline"], registry=REGISTRY)
HANDED_BACK = Counter("pravah_jobs_handed_back", "Running jobs a stopping worker gave back unfinished", registry=REGISTRY)

DATABASE = CollectorRegistry()
JOBS = Gauge("pravah_jobs", "Jobs by status (from the database)", ["status"], registry=DATABASE)
OLDEST_PENDING = Gauge("pravah_oldest_pending_seconds", "Age of the oldest runnable PENDING job", registry=DATABASE)
WORKERS = Gauge("pravah_workers", f"Worker processes with a heartbeat in the last {DEAD_AFTER.total_seconds():g} s (the workers table)",
                registry=DATABASE)
DEAD_LETTERS = Gauge("pravah_dead_letters", "Payloads ingest dead-lettered within the window (the dead_letters table)", ["window"],
                     registry=DATABASE)
DEAD_LETTER_WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def render_own() -> tuple[bytes, str]:
    """This process's counters alone (the ops port of ingest, worker and relay)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


async def render(session: AsyncSession) -> tuple[bytes, str]:
    """This process's counters and the database's numbers (the API)."""
    t = datetime.now(UTC)
    counts = dict((await session.execute(select(Job.status, func.count()).group_by(Job.status))).all())
    for status in (Status.PENDING, Status.RUNNING, Status.SUCCEEDED, Status.FAILED):
        JOBS.labels(status).set(counts.get(status, 0))
    oldest = (await session.execute(select(func.min(Job.created_at)).where(Job.status == Status.PENDING))).scalar()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    OLDEST_PENDING.set((t - oldest).total_seconds() if oldest else 0)
    WORKERS.set((await session.execute(select(func.count()).where(WorkerBeat.seen_at >= t - DEAD_AFTER))).scalar_one())
    widest = max(DEAD_LETTER_WINDOWS.values())
    dead = (await session.execute(select(*(func.count().filter(DeadLetterRow.at >= t - span) for span in DEAD_LETTER_WINDOWS.values()))
                                  .where(DeadLetterRow.at >= t - widest))).one()
    for name, n in zip(DEAD_LETTER_WINDOWS, dead, strict=True):
        DEAD_LETTERS.labels(name).set(n)
    return generate_latest(REGISTRY) + generate_latest(DATABASE), CONTENT_TYPE_LATEST
