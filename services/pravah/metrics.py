"""Prometheus metrics. Counters and histograms count what this process did (its worker,
ingest and relay); job counts by status and the oldest pending job's age come from the
database when /metrics is scraped, so any API process reports the whole system."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.db.models import Job, Status

REGISTRY = CollectorRegistry()
JOBS = Gauge("pravah_jobs", "Jobs by status (from the database)", ["status"], registry=REGISTRY)
OLDEST_PENDING = Gauge("pravah_oldest_pending_seconds", "Age of the oldest runnable PENDING job", registry=REGISTRY)
JOB_SECONDS = Histogram("pravah_job_duration_seconds", "Engine run time of finished attempts", ["pipeline", "outcome"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800), registry=REGISTRY)
BYTES_IN = Counter("pravah_bytes_processed", "Input bytes read by succeeded jobs", ["pipeline"], registry=REGISTRY)
BYTES_OUT = Counter("pravah_bytes_written", "Output bytes written by succeeded jobs", ["pipeline"], registry=REGISTRY)
INGESTED = Counter("pravah_ingest_events", "Object events seen by ingest, by outcome", ["outcome"], registry=REGISTRY)
INGEST_LAG = Gauge("pravah_ingest_lag_messages", "Messages behind the end of the object topic, per partition", ["partition"], registry=REGISTRY)
LIMITS = Counter("pravah_limit_exceeded", "Jobs failed by one of their pipeline's limits", ["pipeline", "limit"], registry=REGISTRY)
PUBLISHED = Counter("pravah_events_published", "Completion events published by the relay", registry=REGISTRY)


async def render(session: AsyncSession) -> tuple[bytes, str]:
    counts = dict((await session.execute(select(Job.status, func.count()).group_by(Job.status))).all())
    for status in (Status.PENDING, Status.RUNNING, Status.SUCCEEDED, Status.FAILED):
        JOBS.labels(status).set(counts.get(status, 0))
    oldest = (await session.execute(select(func.min(Job.created_at)).where(Job.status == Status.PENDING))).scalar()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    OLDEST_PENDING.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
