"""/v1/jobs: list with filters and keyset pagination, one job in full, presigned downloads.
A tenant sees only jobs whose input lies under its scopes; anything else is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from pravah import jobs
from pravah.api.deps import SessionDep, TenantDep
from pravah.api.schemas import Download, JobDetail, JobPage, JobSummary, OutputInfo
from pravah.db.models import Job, Status

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=JobPage)
async def list_jobs(
    session: SessionDep,
    tenant: TenantDep,
    pipeline: str | None = None,
    status: Annotated[str | None, Query(pattern="^(PENDING|RUNNING|SUCCEEDED|FAILED)$")] = None,
    bucket: str | None = None,
    prefix: str | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601).")] = None,
    after: Annotated[str | None, Query(description="`next` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobPage:
    rows = await jobs.list_jobs(
        session, pipeline=pipeline, status=status, bucket=bucket, prefix=prefix, since=since, until=until,
        scopes=tenant.scopes if tenant else None, after=after, limit=limit,
    )
    items = [JobSummary.model_validate(r) for r in rows]
    return JobPage(items=items, next=items[-1].id if len(items) == limit else None)


async def _visible(session: SessionDep, tenant: TenantDep, job_id: str) -> Job:
    job = await jobs.get_job(session, job_id)
    if job is None or (tenant is not None and not tenant.sees(job.bucket, job.key)):
        raise HTTPException(404, f"no job {job_id}")
    return job


def _outputs(job: Job) -> list[OutputInfo]:
    return [
        OutputInfo(bucket=job.output_bucket, key=job.output_key, size=o.get("size"), sha256=o.get("sha256"))
        for o in (job.report or {}).get("outputs", [])
    ]


@router.get("/{job_id}", response_model=JobDetail)
async def get_job(job_id: str, session: SessionDep, tenant: TenantDep) -> JobDetail:
    job = await _visible(session, tenant, job_id)
    return JobDetail.model_validate({**JobSummary.model_validate(job).model_dump(), **{
        "version_id": job.version_id, "etag": job.etag, "size": job.size, "max_attempts": job.max_attempts,
        "log": job.log, "report": job.report, "outputs": _outputs(job),
    }})


@router.get("/{job_id}/outputs/{n}", response_model=Download)
async def download(
    job_id: str, n: int, request: Request, session: SessionDep, tenant: TenantDep,
    expires: Annotated[int, Query(ge=1, description="Seconds; capped by PRAVAH_S3__PRESIGN_MAX_SECONDS.")] = 900,
) -> Download:
    """A presigned GET for output `n` (0-based) of a succeeded job."""
    job = await _visible(session, tenant, job_id)
    outputs = _outputs(job)
    if job.status != Status.SUCCEEDED:
        raise HTTPException(409, f"job {job_id} is {job.status}; outputs exist only once it SUCCEEDED")
    if not 0 <= n < len(outputs):
        raise HTTPException(404, f"job {job_id} has {len(outputs)} output(s); no output {n}")
    store = request.app.state.store
    if store is None or not hasattr(store, "presign"):
        raise HTTPException(501, "downloads need an S3 store (embedded mode writes local files: see outputs[].key)")
    o = outputs[n]
    capped = min(expires, store.cfg.presign_max_seconds)
    return Download(url=store.presign(o.bucket, o.key, capped), expires_in=capped, output=o)
