"""Reprocess: after a pipeline changed, run its current version on the objects its older versions
processed. For each object the pipeline's newest job decides: when that job SUCCEEDED under an
older version, the same object version gets a job of the current version (the usual identity:
asking twice makes nothing twice; a failed or newer job is left alone). Lineage stays in the rows:
each job names the object version it read, the pipeline version it ran and the output it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from pravah import jobs
from pravah.accounts import audit
from pravah.accounts.principal import Principal
from pravah.clock import now
from pravah.control import route_for
from pravah.db.models import Job, Status
from pravah.errors import NotFound
from pravah.events import ObjectEvent
from pravah.routing import OutputKeyError, Router

BATCH = 1000


@dataclass(frozen=True)
class Reprocessed:
    pipeline: str
    version: str
    considered: int  # objects whose newest job succeeded under an older version
    created: int
    existing: int  # had a job of the current version already
    unroutable: int  # the output template refuses the key now


async def reprocess(session: AsyncSession, caller: Principal, router: Router, pipeline: str, since: datetime | None,
                    origin: audit.Origin | None) -> Reprocessed:
    """Jobs of the live version of `pipeline` for the objects (within the caller's scopes, whose
    newest job was created at or after `since`) last processed by an older version."""
    try:
        p = router.doc.pipeline(pipeline)
    except StopIteration:
        raise NotFound(f"no pipeline {pipeline!r} in the applied document") from None
    mine = and_(Job.pipeline == pipeline, caller.visible(Job.bucket, Job.key))
    newest = select(Job.bucket, Job.key, func.max(Job.created_at).label("at")).where(mine).group_by(Job.bucket, Job.key).subquery()
    q = (select(Job.bucket, Job.key, Job.object_version, Job.version_id, Job.etag, Job.size, Job.pipeline_version, Job.created_at)
         .join(newest, and_(Job.bucket == newest.c.bucket, Job.key == newest.c.key, Job.created_at == newest.c.at))
         .where(mine, Job.pipeline_version != p.version, Job.status == Status.SUCCEEDED)
         .order_by(Job.bucket, Job.key).limit(BATCH))
    if since is not None:
        q = q.where(Job.created_at >= since)
    t, done = now(), Reprocessed(pipeline, p.version, 0, 0, 0, 0)
    after: tuple[str, str] | None = None
    while True:  # a page of objects at a time, in key order: memory stays flat however many there are
        page = (await session.execute(q if after is None else q.where(tuple_(Job.bucket, Job.key) > after))).all()
        if not page:
            break
        after = (page[-1].bucket, page[-1].key)
        rows, unroutable = [], 0
        for r in page:
            event = ObjectEvent(bucket=r.bucket, key=r.key, size=r.size, etag=r.etag, event_time=r.created_at, version_id=r.version_id)
            try:
                row = jobs.job_row(event, route_for(router, event, pipeline), t)
            except OutputKeyError:
                unroutable += 1
                continue
            row["log"] = jobs.logged([], f"reprocess of {r.bucket}/{r.key} by {caller.name}: version {r.pipeline_version} → {p.version}", t)
            rows.append(row)
        created = len(await jobs.create_jobs(session, rows))
        await session.commit()  # page by page: asking again after a crash makes only what is missing
        done = Reprocessed(pipeline, p.version, done.considered + len(page), done.created + created,
                           done.existing + len(rows) - created, done.unroutable + unroutable)
    if origin is not None:
        audit.record(session, "pipeline.reprocessed", origin, actor=caller, target=pipeline, version=p.version, jobs=done.created)
    await session.commit()
    return done
