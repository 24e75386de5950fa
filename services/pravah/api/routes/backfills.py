"""/v1/backfills: point Pravah at a prefix that already holds objects and make their jobs (the
binding's pipeline for each object, or a named one), with progress; cancel one. A caller may
backfill and see only prefixes inside its scopes (administrators: all); anything else is a 404."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StrictInt

from pravah.api.deps import OriginDep, Reader, SessionDep, Writer
from pravah.api.openapi import error
from pravah.batch import backfills
from pravah.batch.models import Backfill
from pravah.sizes import Bytes

router = APIRouter(prefix="/v1/backfills", tags=["batch"])


class BackfillIn(BaseModel):
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$")
    prefix: str = Field("", max_length=1024, description="Every object whose key starts with it.")
    pipeline: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Default: each object's binding decides (objects no binding takes are counted as unrouted).")
    min_size: Bytes | None = Field(None, ge=0, le=2**62, description='Only objects at least this big, e.g. "100MB".')
    max_size: Bytes | None = Field(None, ge=0, le=2**62, description="Only objects at most this big.")
    glob: str | None = Field(None, max_length=1024, description="Only keys whose rest after the prefix matches, e.g. *.csv or */2026-*.log.")
    older_than_seconds: StrictInt | None = Field(None, ge=0, le=100 * 365 * 86400, description="Only objects last modified at least this long ago.")


class BackfillOut(BaseModel):
    id: str
    kind: str
    bucket: str
    prefix: str
    pipeline: str | None
    status: str
    listed: int
    created: int = Field(description="Jobs made.")
    existing: int = Field(description="Objects that had their job already (nothing made twice).")
    unrouted: int
    filtered: int
    jobs: dict[str, int] = Field(description="The jobs it made, by status (pending, running, succeeded, failed, cancelled).")
    cursor: str | None
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


async def out(session: SessionDep, b: Backfill, counts: bool = True) -> BackfillOut:
    jobs = await backfills.job_counts(session, b.id) if counts else {}
    return BackfillOut(jobs=jobs, **{k: getattr(b, k) for k in BackfillOut.model_fields if k != "jobs"})


@router.post("", response_model=BackfillOut, status_code=201, responses={404: error("No such prefix among the caller's scopes, or no such pipeline.")})
async def create(body: BackfillIn, request: Request, session: SessionDep, caller: Writer, origin: OriginDep) -> BackfillOut:
    """Write right, on a prefix inside the caller's scopes. Lists it in the background (a runner beside
    the workers), a page of up to 1,000 objects per transaction; a second backfill of the same
    objects makes no job."""
    f = backfills.Filters(body.min_size, body.max_size, body.glob, body.older_than_seconds)
    b = await backfills.create(session, caller, await request.app.state.ctx.router.get(), body.bucket, body.prefix, body.pipeline, f, origin)
    return await out(session, b, counts=False)


@router.get("", response_model=list[BackfillOut])
async def list_backfills(session: SessionDep, caller: Reader) -> list[BackfillOut]:
    """Read right. The newest 50 the caller may see (without their jobs' counts)."""
    return [await out(session, b, counts=False) for b in await backfills.recent(session, caller)]


@router.get("/{backfill_id}", response_model=BackfillOut)
async def get_backfill(backfill_id: str, session: SessionDep, caller: Reader) -> BackfillOut:
    """Read right. Progress: listed, jobs made, existing, unrouted, filtered, and its jobs by status."""
    return await out(session, await backfills.visible(session, caller, backfill_id))


@router.post("/{backfill_id}/cancel", response_model=BackfillOut, responses={409: error("The backfill has ended already.")})
async def cancel(backfill_id: str, session: SessionDep, caller: Writer, origin: OriginDep) -> BackfillOut:
    """Write right. Lists no further; the jobs it made run on (cancel them as jobs)."""
    return await out(session, await backfills.cancel(session, caller, backfill_id, origin))
