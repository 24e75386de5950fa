"""Jobs list (filters in the URL, keyset pages, failures strip with bulk retry, one live
stream) and a job's page (progress, attempts, log tail, outputs with previews, lineage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from pravah import control, jobs
from pravah.api.schemas import outputs_of
from pravah.api.routes.registry import visible_bindings
from pravah.db.models import Job, Status
from pravah.db.session import read
from pravah.live import record
from pravah.live.models import JobEvent, Kind
from pravah.web.identity import Viewer
from pravah.web.render import page

router = APIRouter(include_in_schema=False)
STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PAGE = 50
PREVIEWABLE = {"csv", "tsv", "txt", "log", "json", "jsonl", "ndjson", "md", "png", "jpg", "jpeg", "gif", "webp", "svg"}
PREVIEW_MAX = 512 * 1024


@router.get("/ui/jobs", response_class=HTMLResponse)
async def jobs_page(request: Request, me: Viewer, status: str | None = None, pipeline: str | None = None, prefix: str | None = None,
                    q: str | None = None, window: str | None = None, after: str | None = None) -> HTMLResponse:
    """Any signed-in reader; the caller's jobs only."""
    ctx = request.app.state.ctx
    notes = []
    if status and status not in STATUSES:
        notes.append(f"unknown status {status!r} ignored")
        status = None
    if window and window not in WINDOWS:
        notes.append(f"unknown time window {window!r} ignored (1h, 24h, 7d, 30d)")
        window = None
    bucket, _, key_prefix = (prefix or "").partition("/")
    t = datetime.now(UTC)
    rows = await read(ctx.reads, jobs.listing(
        pipeline=pipeline or None, status=status, bucket=bucket or None, prefix=key_prefix or None, search=(q or "")[:200] or None,
        since=t - WINDOWS[window] if window else None, visible=me.visible(Job.bucket, Job.key), after=after or None, limit=PAGE))
    async with ctx.sessions() as s:
        progress = await record.latest_progress(s, [r.id for r in rows if r.status == Status.RUNNING])
        failures = await control.failure_groups(s, me, t - timedelta(hours=24))
    doc = (await ctx.router.get()).doc
    used = {b.pipeline for b in visible_bindings(doc, me)}
    pipelines = sorted(p.name for p in doc.pipelines if me.is_admin or p.name in used)
    filtered = any((status, pipeline, prefix, q, window))
    return page(request, "jobs.html", rows=rows, progress=progress, failures=failures, since_24h=(t - timedelta(hours=24)).isoformat(),
                pipelines=pipelines, statuses=STATUSES, windows=list(WINDOWS), notes=notes, filtered=filtered, first_page=not after,
                next_after=rows[-1].id if len(rows) == PAGE else None,
                f={"status": status or "", "pipeline": pipeline or "", "prefix": prefix or "", "q": q or "", "window": window or ""})


async def _job(request: Request, me: Any, job_id: str) -> Job:
    async with request.app.state.ctx.sessions() as s:
        return await control.visible_job(s, me, job_id)


def output_views(job: Job) -> list[dict[str, Any]]:
    views = []
    for n, o in enumerate(outputs_of(job) if job.status == Status.SUCCEEDED else []):
        name = o.key.rsplit("/", 1)[-1]
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        kind = "image" if ext in {"png", "jpg", "jpeg", "gif", "webp", "svg"} else "text"
        views.append({"n": n, "name": name, "o": o, "kind": kind,
                      "preview": ext in PREVIEWABLE and (o.size or 0) <= PREVIEW_MAX, "ext": ext})
    return views


@router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: str, me: Viewer) -> HTMLResponse:
    """Any signed-in reader who may see the job (others: 404)."""
    ctx = request.app.state.ctx
    job = await _job(request, me, job_id)
    async with ctx.sessions() as s:
        timeline = (await s.execute(select(JobEvent.data, JobEvent.at).where(JobEvent.job_id == job.id, JobEvent.kind == Kind.STATUS)
                                    .order_by(JobEvent.id))).all()
        progress = (await record.latest_progress(s, [job.id])).get(job.id)
    return page(request, "job.html", job=job, timeline=timeline, progress=progress, outputs=output_views(job),
                log=(job.log or [])[-200:], log_cut=max(0, len(job.log or []) - 200), can_write="write" in me.permissions)


@router.get("/ui/jobs/{job_id}/outputs", response_class=HTMLResponse)
async def outputs_fragment(request: Request, job_id: str, me: Viewer) -> HTMLResponse:
    """The outputs section alone: a job page swaps it in when the job ends."""
    job = await _job(request, me, job_id)
    return page(request, "_outputs.html", job=job, outputs=output_views(job))
