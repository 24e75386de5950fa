"""Writing job events: added to the caller's session, so each commits with the change it
describes (a status event with the status). PostgreSQL announces each row by a trigger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.clock import now
from pravah.live.models import JobEvent, Kind


def emit(session: AsyncSession, job_id: str, kind: str, **data: Any) -> None:
    session.add(JobEvent(job_id=job_id, kind=kind, data=data, at=now()))


def status(session: AsyncSession, job_id: str, status: str, **data: Any) -> None:
    emit(session, job_id, Kind.STATUS, status=status, **data)


def log(session: AsyncSession, job_id: str, line: str) -> None:
    emit(session, job_id, Kind.LOG, line=line)


async def latest_progress(session: AsyncSession, job_id: str) -> JobEvent | None:
    q = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.kind == Kind.PROGRESS).order_by(JobEvent.id.desc()).limit(1)
    return (await session.execute(q)).scalar_one_or_none()
