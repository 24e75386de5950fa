"""/v1/jobs: list with filters and keyset pagination, one job in full, presigned downloads,
submit / retry / cancel, and the job's live event stream. A caller sees only jobs whose input
lies under its scopes (administrators: all); anything else is a 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from pravah import control, jobs
from pravah.api.openapi import IsoTime, error
from pravah.api.deps import LastEventId, OriginDep, Reader, SessionDep, Writer
from pravah.api.schemas import Download, JobDetail, JobPage, JobSummary, OutputInfo, manifest_of, outputs_of, rejects_of
from pravah.db.models import Job, Status
from pravah.db.session import read
from pravah.errors import Conflict, NotFound
from pravah.live import stream

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
STATUSES = "^(PENDING|RUNNING|SUCCEEDED|FAILED|CANCELLED)$"


class SubmitJob(BaseModel):
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$")
    key: str = Field(min_length=1, max_length=1024)
    pipeline: str | None = Field(None, description="Default: the pipeline of the binding that matches the key.")


@router.get("", response_model=JobPage)
async def list_jobs(
    request: Request,
    caller: Reader,
    pipeline: str | None = None,
    status: Annotated[str | None, Query(pattern=STATUSES)] = None,
    bucket: str | None = None,
    prefix: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="A part of the key, any case.")] = None,
    since: Annotated[IsoTime | None, Query(description="Created at or after (ISO 8601).")] = None,
    until: Annotated[IsoTime | None, Query(description="Created before (ISO 8601).")] = None,
    after: Annotated[str | None, Query(description="`next` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Read right. Newest first."""
    rows = await read(request.app.state.ctx.reads, jobs.listing(
        pipeline=pipeline, status=status, bucket=bucket, prefix=prefix, search=q, since=since, until=until,
        visible=None if caller.is_admin else caller.visible(Job.bucket, Job.key), after=after, limit=limit,
    ))
    # Plain mappings: the response model validates and serialises them once, in pydantic-core.
    return {"items": [dict(r._mapping) for r in rows], "next": rows[-1].id if len(rows) == limit else None}


class FailureGroupOut(BaseModel):
    pipeline: str
    error: str = Field(description=f"The first {control.ERROR_HEAD} characters of the error.")
    count: int
    last_at: datetime


class RetryGroup(BaseModel):
    pipeline: str = Field(max_length=64)
    error: str = Field(max_length=control.ERROR_HEAD, description="`error` of a group from /v1/jobs/failures.")
    since: IsoTime


class Retried(BaseModel):
    retried: list[str]


@router.get("/failures", response_model=list[FailureGroupOut])
async def failures(session: SessionDep, caller: Reader,
                   since: Annotated[IsoTime | None, Query(description="Default: 24 hours ago.")] = None,
                   limit: Annotated[int, Query(ge=1, le=50)] = 5) -> list[FailureGroupOut]:
    """Read right. Recent failures grouped by pipeline and error, biggest first."""
    since = since or datetime.now(UTC) - timedelta(hours=24)
    return [FailureGroupOut(pipeline=g.pipeline, error=g.error, count=g.count, last_at=g.last_at)
            for g in await control.failure_groups(session, caller, since, limit)]


@router.post("/retry-failed", response_model=Retried)
async def retry_failed(body: RetryGroup, session: SessionDep, caller: Writer, origin: OriginDep) -> Retried:
    """Write right. Retries every failure of one group that the caller may see (at most 1,000)."""
    return Retried(retried=await control.retry_group(session, caller, body.pipeline, body.error, body.since, origin))


@router.post("", response_model=JobSummary, status_code=201, responses={200: {"model": JobSummary, "description": "The job existed already."},
                                                                   404: error("No such object (or not the caller's), or no such pipeline.")})
async def submit(body: SubmitJob, request: Request, response: Response, session: SessionDep, caller: Writer, origin: OriginDep) -> JobSummary:
    """Write right. Run a pipeline (default: the bound one) on an object that exists, inside the
    caller's scopes. The same object version and pipeline version never make a second job."""
    ctx = request.app.state.ctx
    if not caller.sees(body.bucket, body.key):
        raise NotFound(f"no object {body.bucket}/{body.key}")
    info = await anyio.to_thread.run_sync(ctx.store.head, body.bucket, body.key)
    got = await control.submit(session, caller, await ctx.router.get(), body.bucket, body.key, info, body.pipeline, origin)
    if not got.created:
        response.status_code = 200
    return JobSummary.model_validate(got.job)


@router.get("/{job_id}", response_model=JobDetail)
async def get_job(job_id: str, request: Request, caller: Reader) -> dict[str, Any]:
    """Read right."""
    rows = await read(request.app.state.ctx.reads, jobs.one(job_id))
    if not rows or not caller.sees(rows[0].bucket, rows[0].key):
        raise NotFound(f"no job {job_id}")
    return {**rows[0]._mapping, "outputs": outputs_of(rows[0]), "rows_rejected": (rows[0].report or {}).get("rows_rejected") or 0,
            "rejects": rejects_of(rows[0]), "manifest": manifest_of(rows[0])}


@router.get("/{job_id}/log", response_class=PlainTextResponse)
async def job_log(job_id: str, session: SessionDep, caller: Reader) -> PlainTextResponse:
    """Read right. The job's log as text (the first and the newest lines when it is long)."""
    job = await control.visible_job(session, caller, job_id)
    return PlainTextResponse("\n".join(job.log or []) + "\n", headers={"Content-Disposition": f'attachment; filename="{job.id}.log"'})


@router.post("/{job_id}/retry", response_model=JobSummary, responses={409: error("The job is not FAILED or CANCELLED.")})
async def retry(job_id: str, session: SessionDep, caller: Writer, origin: OriginDep) -> JobSummary:
    """Write right. A FAILED or CANCELLED job runs again (409 otherwise)."""
    return JobSummary.model_validate(await control.retry(session, caller, job_id, origin))


@router.post("/{job_id}/cancel", response_model=JobSummary, status_code=202, responses={409: error("The job has ended already.")})
async def cancel(job_id: str, session: SessionDep, caller: Writer, origin: OriginDep) -> JobSummary:
    """Write right. PENDING → CANCELLED at once; RUNNING → stops within about a second
    (watch /events for the CANCELLED status); a final job → 409."""
    return JobSummary.model_validate(await control.cancel(session, caller, job_id, origin))


async def _presigned(request: Request, session: SessionDep, caller: Reader, job_id: str, expires: int,
                     pick: Callable[[Job], OutputInfo]) -> tuple[str, int, OutputInfo]:
    """A presigned GET for one of a succeeded job's files (`pick` chooses it or raises NotFound)."""
    job = await control.visible_job(session, caller, job_id)
    if job.status != Status.SUCCEEDED:
        raise Conflict(f"job {job_id} is {job.status}; its files exist only once it SUCCEEDED")
    o = pick(job)
    capped = min(expires, request.app.state.ctx.settings.s3.presign_max_seconds)
    return request.app.state.ctx.store.presign_get(o.bucket, o.key, capped, o.key.rsplit("/", 1)[-1]), capped, o


def _output(n: int) -> Callable[[Job], OutputInfo]:
    def pick(job: Job) -> OutputInfo:
        outputs = outputs_of(job)
        if not 0 <= n < len(outputs):
            raise NotFound(f"job {job.id} has {len(outputs)} output(s); no output {n}")
        return outputs[n]
    return pick


def _rejects(job: Job) -> OutputInfo:
    r = rejects_of(job)
    if r is None:
        raise NotFound(f"job {job.id} quarantined no rows")
    return r


@router.get("/{job_id}/outputs/{n}", response_model=Download)
async def download(
    job_id: str, n: int, request: Request, session: SessionDep, caller: Reader,
    expires: Annotated[int, Query(ge=1, description="Seconds; capped by PRAVAH_S3__PRESIGN_MAX_SECONDS.")] = 900,
) -> Download:
    """Read right. A presigned GET for output `n` (0-based) of a succeeded job."""
    url, capped, o = await _presigned(request, session, caller, job_id, expires, _output(n))
    return Download(url=url, expires_in=capped, output=o)


@router.get("/{job_id}/outputs/{n}/download", status_code=302, response_class=RedirectResponse)
async def download_redirect(job_id: str, n: int, request: Request, session: SessionDep, caller: Reader) -> RedirectResponse:
    """Read right. A link for people: checks access, then redirects to a short-lived
    presigned GET that downloads as an attachment under the output's name."""
    url, _, _ = await _presigned(request, session, caller, job_id, 300, _output(n))
    return RedirectResponse(url, status_code=302)


@router.get("/{job_id}/rejects", response_model=Download)
async def rejects(
    job_id: str, request: Request, session: SessionDep, caller: Reader,
    expires: Annotated[int, Query(ge=1, description="Seconds; capped by PRAVAH_S3__PRESIGN_MAX_SECONDS.")] = 900,
) -> Download:
    """Read right. A presigned GET for the bad rows a succeeded job quarantined (JSON lines:
    line, byte_offset, raw, reason); 404 when it set none aside."""
    url, capped, r = await _presigned(request, session, caller, job_id, expires, _rejects)
    return Download(url=url, expires_in=capped, output=r)


@router.get("/{job_id}/rejects/download", status_code=302, response_class=RedirectResponse)
async def rejects_redirect(job_id: str, request: Request, session: SessionDep, caller: Reader) -> RedirectResponse:
    """Read right. A link for people to the quarantined rows (a short-lived presigned GET)."""
    url, _, _ = await _presigned(request, session, caller, job_id, 300, _rejects)
    return RedirectResponse(url, status_code=302)


async def _streamable(job_id: str, request: Request, caller: Reader) -> Job:
    """Checked before the stream starts (an error inside a stream could no longer be a 404);
    with a session of its own, so none stays checked out while the stream lasts hours."""
    async with request.app.state.ctx.sessions() as s:
        return await control.visible_job(s, caller, job_id)


@router.get("/{job_id}/events", response_class=EventSourceResponse)
async def job_events(request: Request, job: Annotated[Job, Depends(_streamable)], last_event_id: LastEventId):
    """Read right. Server-Sent Events of one job: a `snapshot` first (unless resuming), then
    `status`, `progress` and `log` events as they happen; `end` after a final status."""
    ctx = request.app.state.ctx
    async for it in stream.job_stream(ctx.sessions, ctx.hub, job, last_event_id):
        if await request.is_disconnected():
            return
        yield ServerSentEvent(data=it.data, event=it.event, id=str(it.id) if it.id is not None else None,
                              retry=2000 if it.event == "snapshot" else None)
