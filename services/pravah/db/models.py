"""Core tables: jobs (the status API's source of truth), outbox (completion events to publish),
the pipeline registry. Capabilities keep their tables beside their code (accounts/models.py …)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class _UtcOnSqlite(TypeDecorator):
    """SQLite keeps no time zone: values come back naive. They were written in UTC."""

    impl = DateTime
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


# Aware datetimes from every database; PostgreSQL (asyncpg) gives them already, at no cost.
TS = DateTime(timezone=True).with_variant(_UtcOnSqlite(timezone=True), "sqlite")


class Base(DeclarativeBase):
    pass


class Status:
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    FINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # One job per object version and pipeline version: a duplicate event never makes a second.
        UniqueConstraint("bucket", "key", "object_version", "pipeline", "pipeline_version", name="uq_jobs_identity"),
        Index("ix_jobs_claim", "pool", "status", "next_attempt_at"),
        Index("ix_jobs_pipeline_created", "pipeline", "created_at"),
        Index("ix_jobs_created", "created_at", "id"),
        Index("ix_jobs_status_created", "status", "created_at", "id"),
        Index("ix_jobs_bucket_created", "bucket", "created_at", "id"),
        Index("ix_jobs_status_finished", "status", "finished_at"),
        Index("ix_jobs_backfill", "backfill_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    object_version: Mapped[str] = mapped_column(String(255))
    version_id: Mapped[str | None] = mapped_column(String(255))
    etag: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    pipeline: Mapped[str] = mapped_column(String(64))
    pipeline_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    output_bucket: Mapped[str] = mapped_column(String(255))
    output_key: Mapped[str] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    log: Mapped[list[str]] = mapped_column(JSON, default=list)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(TS)
    next_attempt_at: Mapped[datetime] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    run: Mapped[int] = mapped_column(Integer, default=1)  # 1 + manual retries; part of completion event ids
    cancel_requested_at: Mapped[datetime | None] = mapped_column(TS)
    pool: Mapped[str] = mapped_column(String(64), default="default", server_default="default")  # whose workers may claim it
    traceparent: Mapped[str | None] = mapped_column(String(64))  # W3C trace context of the event that made it
    backfill_id: Mapped[str | None] = mapped_column(String(32))  # the backfill (or reconcile sweep) that made it


class OutboxEvent(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TS)
    published_at: Mapped[datetime | None] = mapped_column(TS, index=True)


class PipelineVersion(Base):
    """Every pipeline definition ever applied, by content version: a job runs the version it
    was created for, even after the pipeline changes."""

    __tablename__ = "pipeline_versions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TS)


class AppliedDocument(Base):
    """Each `pravah apply`: the whole document (pipelines + bindings); the newest one is live."""

    __tablename__ = "applied_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(TS)
