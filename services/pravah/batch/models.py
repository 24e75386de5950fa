"""The backfills table: one row per backfill, its cursor and counters committed with each page of
jobs it creates, so a crash resumes after the last committed key and never makes a job twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pravah.db.models import TS, Base


class BackfillStatus:
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"  # listed to the end (its jobs run on their own)
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    FINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class Backfill(Base):
    __tablename__ = "backfills"
    __table_args__ = (Index("ix_backfills_status", "status", "lease_expires_at"), Index("ix_backfills_created", "created_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="backfill")  # or "reconcile"
    bucket: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(Text, default="")
    pipeline: Mapped[str | None] = mapped_column(String(64))  # None: each object's binding decides
    min_size: Mapped[int | None] = mapped_column(BigInteger)
    max_size: Mapped[int | None] = mapped_column(BigInteger)
    glob: Mapped[str | None] = mapped_column(Text)
    older_than_seconds: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=BackfillStatus.PENDING)
    cursor: Mapped[str | None] = mapped_column(Text)  # the last key whose job (or verdict) is committed
    listed: Mapped[int] = mapped_column(BigInteger, default=0)
    created: Mapped[int] = mapped_column(BigInteger, default=0)  # jobs made
    existing: Mapped[int] = mapped_column(BigInteger, default=0)  # objects that had their job already
    unrouted: Mapped[int] = mapped_column(BigInteger, default=0)  # no binding takes them (or a bad output key)
    filtered: Mapped[int] = mapped_column(BigInteger, default=0)  # left out by size, age or glob
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    pages: Mapped[int] = mapped_column(Integer, default=0)
