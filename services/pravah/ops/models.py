"""workers: one row per live worker process, renewed by its heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pravah.db.models import TS, Base


class WorkerBeat(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the worker's lease owner name
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer)
    jobs: Mapped[list[str]] = mapped_column(JSON, default=list)  # the jobs it runs now
    started_at: Mapped[datetime] = mapped_column(TS)
    seen_at: Mapped[datetime] = mapped_column(TS)
