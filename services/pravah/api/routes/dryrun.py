"""/v1/dry-runs: run a pipeline — of the live document, a stored version, or an unsaved spec —
on one sample object the caller may see, and answer with the output's first rows, schema and
counts before anything is applied. No job row, no events, no metrics; the output waits under
`_pravah/dry-runs/` (a prefix no binding takes) until an API process's sweep deletes it."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from pravah import registry
from pravah.api.deps import SessionDep, Writer
from pravah.api.routes.registry import visible_bindings
from pravah.dryrun import MAX_ROWS, DryRun, InvalidSpec, dry_run, spec
from pravah.errors import NotFound
from pravah.pipelines import Document

router = APIRouter(prefix="/v1/dry-runs", tags=["pipelines"])


class DryRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$", description="The sample object's bucket.")
    key: str = Field(min_length=1, max_length=1024, description="The sample object's key; the caller must be able to see it.")
    pipeline: str | None = Field(None, max_length=64, description="A pipeline of the applied document, by name.")
    version: str | None = Field(None, max_length=64, description="With `pipeline`: any version ever applied (pipeline_versions), live or not.")
    spec: dict[str, Any] | None = Field(None, description="An unsaved pipeline, as in the YAML (name, steps, output, limits), validated as `apply` would.")
    rows: StrictInt | None = Field(None, ge=1, le=MAX_ROWS, description="Rows to show (default PRAVAH_DRY_RUN__ROWS, 20).")

    @model_validator(mode="after")
    def _one_pipeline(self) -> DryRunRequest:
        if (self.pipeline is None) == (self.spec is None):
            raise ValueError("name an applied `pipeline`, or give an unsaved one as `spec` (one of the two)")
        if self.version is not None and self.pipeline is None:
            raise ValueError("`version` picks a stored version of the named `pipeline`")
        return self


def _limiter(request: Request, tokens: int) -> anyio.CapacityLimiter:
    """Dry-runs share the API's cores: at most `tokens` at once in this process, the rest wait."""
    state = request.app.state
    if getattr(state, "dry_run_limiter", None) is None:
        state.dry_run_limiter = anyio.CapacityLimiter(tokens)
    return state.dry_run_limiter


@router.post("", response_model=DryRun, responses={404: {"description": "No such object (or not the caller's), pipeline or version."},
                                                    413: {"description": "The sample is over PRAVAH_DRY_RUN__MAX_INPUT_BYTES."},
                                                    422: {"description": "The request, or the unsaved spec (each problem at its field)."}})
async def create_dry_run(body: DryRunRequest, request: Request, session: SessionDep, caller: Writer) -> DryRun:
    """Write right (it writes a scratch output). A failing pipeline is still an answer:
    `succeeded` false, with the engine's error and where in the input it happened."""
    ctx = request.app.state.ctx
    if not caller.sees(body.bucket, body.key):
        raise NotFound(f"no object {body.bucket}/{body.key}")  # another tenant's object: the same answer as absent
    if body.spec is not None:
        try:
            pipeline, source = spec.inline(body.spec), "inline"
        except InvalidSpec as e:
            raise HTTPException(422, detail=[{"type": "invalid_pipeline", "loc": ["body", "spec", *loc], "msg": msg} for loc, msg in e.problems]) from None
    else:
        name = body.pipeline or ""
        current = await registry.live(session)
        doc = current[1] if current else Document()
        if not caller.is_admin and name not in {b.pipeline for b in visible_bindings(doc, caller)}:
            raise NotFound(f"no pipeline {name!r} in the applied document")
        if body.version is not None:
            pipeline, source = await spec.stored(session, name, body.version), "version"
        else:
            pipeline, source = spec.from_document(doc, name), "applied"
    await session.close()  # the run may take a while: hold no database connection through it
    cfg = ctx.settings.dry_run
    return await dry_run(ctx.store, pipeline, body.bucket, body.key, cfg, rows=body.rows, source=source,  # type: ignore[arg-type]
                         presign_seconds=ctx.settings.s3.presign_max_seconds, limiter=_limiter(request, cfg.concurrency))
