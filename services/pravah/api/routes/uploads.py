"""/v1/uploads: resumable multipart uploads straight to the store. The API signs part URLs
and completes from the store's own list of parts; it never carries the bytes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictInt

from pravah.api.openapi import error
from pravah.api.deps import OriginDep, Reader, SessionDep, Writer
from pravah.uploads import sessions as uploads
from pravah.uploads.models import Upload, UploadStatus

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


class UploadIn(BaseModel):
    filename: str = Field(min_length=1, max_length=4096, description="The client's file name; only its base name is used.")
    size: StrictInt = Field(ge=0, description="Bytes.")
    content_type: str | None = Field(None, max_length=255)
    prefix: str | None = Field(None, max_length=1024, description="bucket/folder/ inside your scopes; default your inbox.")
    last_modified: StrictInt | None = Field(None, ge=0, le=2**63 - 1, description="The file's mtime in ms since the epoch (to match it on resume).")


class WillRun(BaseModel):
    binding: dict
    pipeline: str
    pipeline_version: str


class UploadOut(BaseModel):
    id: str
    bucket: str
    key: str
    filename: str
    size: int
    content_type: str | None
    last_modified: int | None
    part_size: int
    parts: int
    status: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    etag: str | None
    will_run: WillRun | None = Field(None, description="The binding and pipeline the object will start; null = no job will start.")
    stored_parts: list[int] | None = Field(None, description="Parts the store holds (open uploads, on GET).")
    missing_parts: list[int] | None = None
    job_id: str | None = Field(None, description="The job the completed upload started, once ingest has seen it.")


class SignIn(BaseModel):
    parts: list[int] = Field(min_length=1, max_length=1000, description="Part numbers, 1-based.")


class Signed(BaseModel):
    urls: dict[int, str] = Field(description="PUT each part's bytes to its URL; the response's ETag need not be kept.")
    expires_in: int


async def _out(request: Request, session: SessionDep, u: Upload, *, parts: bool = False) -> UploadOut:
    ctx = request.app.state.ctx
    route = uploads.will_run(await ctx.router.get(), u.bucket, u.key, u.size)
    out = UploadOut.model_validate(u, from_attributes=True)
    if route is not None:
        out.will_run = WillRun(binding=route.binding.model_dump() if route.binding else {}, pipeline=route.pipeline.name,
                               pipeline_version=route.pipeline.version)
    if parts and u.status == UploadStatus.OPEN:
        c = uploads.check_parts(u, await uploads.stored_parts(ctx.store, u))
        out.stored_parts = [p.number for p in c.stored]
        out.missing_parts = c.missing
    if u.status == UploadStatus.COMPLETED:
        job = await uploads.job_of(session, u)
        out.job_id = job.id if job else None
    return out


@router.post("", response_model=UploadOut, status_code=201, responses={
    404: error("No such destination among the caller's scopes."), 409: error("The object store refused to start the upload."),
    413: error("Larger than PRAVAH_UPLOADS__MAX_BYTES.")})
async def create(body: UploadIn, request: Request, session: SessionDep, caller: Writer, origin: OriginDep) -> UploadOut:
    """Write right. Opens a session: the key is chosen here (base name, under the destination),
    the part size so that ≤ 9,000 parts cover the file. `will_run` says which pipeline will start."""
    ctx = request.app.state.ctx
    u = await uploads.create(session, ctx.store, caller, ctx.settings.uploads, filename=body.filename, size=body.size,
                             content_type=body.content_type, prefix=body.prefix, last_modified=body.last_modified, origin=origin)
    return await _out(request, session, u)


@router.get("", response_model=list[UploadOut])
async def list_uploads(
    request: Request, session: SessionDep, caller: Reader,
    status: Annotated[str | None, Query(pattern="^(OPEN|COMPLETED|ABORTED|EXPIRED)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[UploadOut]:
    """Read right. The tenant's uploads, newest first (`status=OPEN`: the ones to resume)."""
    return [await _out(request, session, u) for u in await uploads.listed(session, caller, status, limit)]


@router.get("/{upload_id}", response_model=UploadOut)
async def get(upload_id: str, request: Request, session: SessionDep, caller: Reader) -> UploadOut:
    """Read right. With the parts the store already holds, so a client resumes with the rest."""
    return await _out(request, session, await uploads.get(session, caller, upload_id), parts=True)


@router.post("/{upload_id}/parts", response_model=Signed, responses={409: error("The upload is finished, aborted or expired.")})
async def sign(upload_id: str, body: SignIn, request: Request, session: SessionDep, caller: Writer) -> Signed:
    """Write right. Presigned PUT URLs for up to 1,000 parts."""
    ctx = request.app.state.ctx
    urls = await uploads.sign(session, ctx.store, caller, ctx.settings.uploads, upload_id, body.parts)
    return Signed(urls=urls, expires_in=ctx.settings.uploads.part_url_seconds)


@router.post("/{upload_id}/complete", response_model=UploadOut, responses={409: error("Parts missing or of the wrong size, or the upload is over.")})
async def complete(upload_id: str, request: Request, session: SessionDep, caller: Writer, origin: OriginDep) -> UploadOut:
    """Write right. The server lists the stored parts, checks every one is there with the right
    size (409 naming the missing or wrong ones otherwise) and completes the object."""
    u = await uploads.complete(session, request.app.state.ctx.store, caller, upload_id, origin)
    return await _out(request, session, u)


@router.delete("/{upload_id}", status_code=204, responses={409: error("The upload is already complete.")})
async def abort(upload_id: str, request: Request, session: SessionDep, caller: Writer, origin: OriginDep) -> Response:
    """Write right. Aborts the upload and drops its stored parts."""
    await uploads.abort(session, request.app.state.ctx.store, caller, upload_id, origin)
    return Response(status_code=204)
