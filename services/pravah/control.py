"""What a person asks of jobs: run a pipeline on an object that already exists, retry a job
that ended badly, cancel one. Same identity, outbox and live events as the event path."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pravah import jobs
from pravah.accounts import audit
from pravah.accounts.principal import Principal
from pravah.clock import aware, now
from pravah.db import wakeup
from pravah.db.models import Job, Status
from pravah.errors import Conflict, Invalid, NotFound
from pravah.events import ObjectEvent
from pravah.live import record
from pravah.observe import traces
from pravah.routing import OutputKeyError, Route, Router
from pravah.storage import ObjectInfo


@dataclass(frozen=True)
class Submitted:
    job: Job
    created: bool  # False: this object version already had a job of that pipeline version


async def visible_job(session: AsyncSession, caller: Principal, job_id: str, *, lock: bool = False) -> Job:
    """The job, if the caller may see it; another tenant's job is simply not found."""
    job = await session.get(Job, job_id, with_for_update=lock or None, populate_existing=lock)
    if job is None or not caller.sees(job.bucket, job.key):
        raise NotFound(f"no job {job_id}")
    return job


def route_for(router: Router, event: ObjectEvent, pipeline: str | None) -> Route:
    """The binding's pipeline for the object, or the named pipeline of the live document."""
    if pipeline is None:
        route = router.route(event)
        if route is None:
            raise Invalid(f"no binding matches {event.bucket}/{event.key}; name a pipeline to run")
        return route
    try:
        p = router.doc.pipeline(pipeline)
    except StopIteration:
        raise NotFound(f"no pipeline {pipeline!r} in the applied document") from None
    binding = next((b for b in router.doc.bindings if b.pipeline == pipeline), None)
    return Route(binding, p)  # type: ignore[arg-type]


async def submit(session: AsyncSession, caller: Principal, router: Router, bucket: str, key: str, info: ObjectInfo | None,
                 pipeline: str | None, origin: audit.Origin) -> Submitted:
    if not caller.sees(bucket, key):
        raise NotFound(f"no object {bucket}/{key}")  # outside the caller's scopes: the same answer as absent
    if info is None:
        raise NotFound(f"no object {bucket}/{key}")
    event = ObjectEvent(bucket=bucket, key=key, size=info.size, etag=info.etag, event_time=info.last_modified, version_id=info.version_id)
    route = route_for(router, event, pipeline)
    t = now()
    try:
        # The job's trace starts here, as ingest's span starts an uploaded object's.
        with traces.span("pravah.submit", attrs={"pravah.object.bucket": bucket, "pravah.object.key": key, "pravah.pipeline": route.pipeline.name}):
            row = jobs.job_row(event, route, t)
    except OutputKeyError as e:
        raise Invalid(str(e)) from None
    row["log"] = jobs.logged([], f"submitted by {caller.name} for {bucket}/{key}", t)
    created = await jobs.create_jobs(session, [row])
    if created:
        record.status(session, created[0], Status.PENDING, by=caller.name)
        audit.record(session, "job.submitted", origin, actor=caller, target=created[0], object=f"{bucket}/{key}", pipeline=route.pipeline.name)
        await session.commit()
        return Submitted(await session.get(Job, created[0]), True)
    q = select(Job).where(Job.bucket == bucket, Job.key == key, Job.object_version == event.object_version,
                          Job.pipeline == route.pipeline.name, Job.pipeline_version == route.pipeline.version)
    return Submitted((await session.execute(q)).scalar_one(), False)


async def retry(session: AsyncSession, caller: Principal, job_id: str, origin: audit.Origin) -> Job:
    """A FAILED or CANCELLED job runs again (a new run: fresh attempts, a new completion event)."""
    job = await visible_job(session, caller, job_id, lock=True)
    if job.status not in (Status.FAILED, Status.CANCELLED):
        raise Conflict(f"job {job_id} is {job.status}; only FAILED or CANCELLED jobs can be retried")
    t = now()
    run = (job.run or 1) + 1
    line = f"retried by {caller.name} (run {run})"
    await session.execute(update(Job).where(Job.id == job.id).values(
        status=Status.PENDING, run=run, attempts=0, error=None, report=None, finished_at=None, cancel_requested_at=None,
        next_attempt_at=t, updated_at=t, log=jobs.logged(job.log, line, t)))
    record.log(session, job.id, line)
    record.status(session, job.id, Status.PENDING, run=run, by=caller.name)
    audit.record(session, "job.retried", origin, actor=caller, target=job.id, run=run)
    await wakeup.notify(session, wakeup.JOBS)
    await session.commit()
    return await session.get(Job, job.id, populate_existing=True)


async def cancel(session: AsyncSession, caller: Principal, job_id: str, origin: audit.Origin) -> Job:
    """A PENDING job ends CANCELLED at once; a RUNNING one is asked to stop (its worker
    cancels the engine through the progress callback and records CANCELLED)."""
    job = await visible_job(session, caller, job_id, lock=True)
    if job.status in Status.FINAL:
        raise Conflict(f"job {job_id} is already {job.status}")
    t = now()
    audit.record(session, "job.cancel_requested", origin, actor=caller, target=job.id, was=job.status)
    if job.status == Status.PENDING:
        line = f"cancelled by {caller.name} before it ran"
        job.status, job.finished_at, job.updated_at, job.error = Status.CANCELLED, t, t, f"cancelled by {caller.name}"
        job.log = jobs.logged(job.log, line, t)
        record.log(session, job.id, line)
        record.status(session, job.id, Status.CANCELLED, by=caller.name)
        session.add(jobs.completion_event(job, t))  # the outbox's trigger wakes the relay
    elif job.cancel_requested_at is None:
        line = f"cancel requested by {caller.name}"
        job.cancel_requested_at, job.updated_at = t, t
        job.log = jobs.logged(job.log, line, t)
        record.log(session, job.id, line)
    await session.commit()
    return job


ERROR_HEAD = 120  # failures group by pipeline and the start of their error (the rest often names a row or a byte)
BULK_RETRY_MAX = 1000
FAILURE_SCAN = 2000  # newest failures the strip groups


@dataclass(frozen=True)
class FailureGroup:
    pipeline: str
    error: str  # its first ERROR_HEAD characters
    count: int
    last_at: object  # datetime of the newest failure


async def failure_groups(session: AsyncSession, caller: Principal, since: object, limit: int = 5) -> list[FailureGroup]:
    """Recent failures the caller may see, grouped, the biggest groups first — over the newest
    FAILURE_SCAN of them, so a day of a million failures costs what a day of a few does."""
    newest = (select(Job.pipeline, func.substr(func.coalesce(Job.error, ""), 1, ERROR_HEAD).label("head"), Job.finished_at)
              .where(Job.status == Status.FAILED, Job.finished_at >= since, caller.visible(Job.bucket, Job.key))
              .order_by(Job.finished_at.desc()).limit(FAILURE_SCAN).subquery())
    q = (select(newest.c.pipeline, newest.c.head, func.count(), func.max(newest.c.finished_at))
         .group_by(newest.c.pipeline, newest.c.head).order_by(func.count().desc(), func.max(newest.c.finished_at).desc()).limit(limit))
    return [FailureGroup(p, e, n, aware(t)) for p, e, n, t in (await session.execute(q)).all()]


async def retry_group(session: AsyncSession, caller: Principal, pipeline: str, error: str, since: object, origin: audit.Origin) -> list[str]:
    """Retry every failure of one group (at most BULK_RETRY_MAX); the ids retried."""
    head = func.substr(func.coalesce(Job.error, ""), 1, ERROR_HEAD)
    q = (select(Job.id).where(Job.status == Status.FAILED, Job.finished_at >= since, Job.pipeline == pipeline, head == error[:ERROR_HEAD],
                              caller.visible(Job.bucket, Job.key)).order_by(Job.finished_at).limit(BULK_RETRY_MAX))
    ids = list((await session.execute(q)).scalars())
    done = []
    for job_id in ids:
        try:
            await retry(session, caller, job_id, origin)
            done.append(job_id)
        except Conflict:  # retried meanwhile by someone else
            await session.rollback()
    return done
