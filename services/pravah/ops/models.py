"""workers: one row per live worker process, renewed by its heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pravah.db.models import TS, Base


class WorkerBeat(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the worker's lease owner name
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(64), default="default", server_default="default")
    jobs: Mapped[list[str]] = mapped_column(JSON, default=list)  # the jobs it runs now
    started_at: Mapped[datetime] = mapped_column(TS)
    seen_at: Mapped[datetime] = mapped_column(TS)


class DeadLetterRow(Base):
    """A payload ingest could not parse (the message itself is on the dead-letter topic);
    kept here so the operations page can show what arrives broken and why."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(TS, index=True)
    origin: Mapped[str] = mapped_column(String(300))  # topic/partition/offset
    reason: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(Text)  # the first bytes, as text
