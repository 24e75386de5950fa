"""/v1/jobs: list with filters and keyset pagination, and one job in full."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from pravah import jobs
from pravah.api.deps import SessionDep
from pravah.api.schemas import JobDetail, JobPage, JobSummary, OutputInfo

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=JobPage)
async def list_jobs(
    session: SessionDep,
    pipeline: str | None = None,
    status: Annotated[str | None, Query(pattern="^(PENDING|RUNNING|SUCCEEDED|FAILED)$")] = None,
    bucket: str | None = None,
    prefix: str | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobPage:
    rows = await jobs.list_jobs(session, pipeline=pipeline, status=status, bucket=bucket, prefix=prefix, after=after, limit=limit)
    items = [JobSummary.model_validate(r) for r in rows]
    return JobPage(items=items, next=items[-1].id if len(items) == limit else None)


@router.get("/{job_id}", response_model=JobDetail)
async def get_job(job_id: str, session: SessionDep) -> JobDetail:
    job = await jobs.get_job(session, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    outputs = [
        OutputInfo(bucket=job.output_bucket, key=job.output_key, size=o.get("size"), sha256=o.get("sha256"))
        for o in (job.report or {}).get("outputs", [])
    ]
    return JobDetail.model_validate({**JobSummary.model_validate(job).model_dump(), **{
        "version_id": job.version_id, "etag": job.etag, "size": job.size, "max_attempts": job.max_attempts,
        "log": job.log, "report": job.report, "outputs": outputs,
    }})
