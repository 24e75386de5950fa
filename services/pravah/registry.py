"""Applied pipelines in the database: every version ever applied (a job runs the version it
was created for) and the live document (pipelines + bindings) ingest routes by."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pravah.db import wakeup
from pravah.db.models import AppliedDocument, Job, PipelineVersion, Status
from pravah.pipelines import Document, Pipeline


async def apply(session: AsyncSession, doc: Document, source: str) -> int:
    """Store `doc` as the live document; returns its id. Committed when this returns."""
    t = datetime.now(UTC)
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    for p in doc.pipelines:
        stmt = dialect.insert(PipelineVersion).values(name=p.name, version=p.version, spec=p.model_dump(), created_at=t)
        await session.execute(stmt.on_conflict_do_nothing())
        # A pipeline moved to another pool takes its unfinished jobs along (a running one keeps
        # its worker; should that worker die, the new pool's take it over).
        await session.execute(update(Job).where(Job.pipeline == p.name, Job.status.in_((Status.PENDING, Status.RUNNING)),
                                                Job.pool != p.runtime.pool).values(pool=p.runtime.pool))
    row = AppliedDocument(document=doc.model_dump(), source=source, applied_at=t)
    session.add(row)
    await wakeup.notify(session, wakeup.APPLIED)
    await session.commit()
    return row.id


async def live(session: AsyncSession) -> tuple[int, Document] | None:
    """The newest applied document and its id, or None before the first apply."""
    row = (await session.execute(select(AppliedDocument).order_by(AppliedDocument.id.desc()).limit(1))).scalar_one_or_none()
    return None if row is None else (row.id, Document.model_validate(row.document))


class Registry:
    """Pipeline definitions by (name, version), cached: a version never changes."""

    def __init__(self, sessions: async_sessionmaker):
        self.sessions = sessions
        self._cache: dict[tuple[str, str], Pipeline] = {}

    async def pipeline(self, name: str, version: str) -> Pipeline | None:
        key = (name, version)
        if key not in self._cache:
            async with self.sessions() as s:
                row = await s.get(PipelineVersion, key)
            if row is None:
                return None
            self._cache[key] = Pipeline.model_validate(row.spec)
        return self._cache[key]
