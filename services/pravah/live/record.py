"""Writing job events (and reading back the newest progress): added to the caller's session, so each commits with the change it
describes (a status event with the status). PostgreSQL announces each row by a trigger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.clock import now
from pravah.live.models import JobEvent, Kind


def emit(session: AsyncSession, job_id: str, kind: str, **data: Any) -> None:
    session.add(JobEvent(**row(job_id, kind, **data)))


def row(job_id: str, kind: str, **data: Any) -> dict[str, Any]:
    """One event as a plain row, for `write`."""
    return {"job_id": job_id, "kind": kind, "data": data, "at": now()}


_INSERT = insert(JobEvent.__table__)


async def write(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (from `row`) now, in order, in one statement: on the worker's path, where an
    ORM flush of the same rows cost more CPU than the statement."""
    await session.execute(_INSERT, rows)


def status(session: AsyncSession, job_id: str, status: str, **data: Any) -> None:
    emit(session, job_id, Kind.STATUS, status=status, **data)


def log(session: AsyncSession, job_id: str, line: str) -> None:
    emit(session, job_id, Kind.LOG, line=line)


async def latest_progress(session: AsyncSession, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest progress of each job that has one, in one query."""
    if not job_ids:
        return {}
    newest = select(func.max(JobEvent.id)).where(JobEvent.job_id.in_(job_ids), JobEvent.kind == Kind.PROGRESS).group_by(JobEvent.job_id)
    return dict((await session.execute(select(JobEvent.job_id, JobEvent.data).where(JobEvent.id.in_(newest)))).all())
