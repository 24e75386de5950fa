"""/v1/pipelines and /v1/bindings: the live applied document. A caller sees the bindings on
its scopes and the pipelines those bindings use (administrators: everything). And reprocess: a
pipeline's live version over what its older versions made, within the caller's scopes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from pravah import registry
from pravah.accounts.principal import Principal, split_scope
from pravah.api.deps import OriginDep, Reader, SessionDep, Writer
from pravah.api.openapi import IsoTime, error
from pravah.batch import reprocess
from pravah.api.schemas import BindingInfo, PipelineInfo
from pravah.pipelines import Binding, Document
from pravah.routing import Router

router = APIRouter(prefix="/v1", tags=["pipelines"])


def visible_bindings(doc: Document, caller: Principal) -> list[Binding]:
    if caller.is_admin:
        return doc.bindings

    def overlaps(b: Binding) -> bool:
        for scope in caller.scopes:
            bucket, prefix = split_scope(scope)
            if b.bucket == bucket and (b.prefix.startswith(prefix) or prefix.startswith(b.prefix)):
                return True
        return False

    return [b for b in doc.bindings if overlaps(b)]


async def _live(session: SessionDep) -> Document:
    current = await registry.live(session)
    return current[1] if current else Document()


@router.get("/bindings", response_model=list[BindingInfo])
async def bindings(session: SessionDep, caller: Reader) -> list[BindingInfo]:
    """Read right."""
    doc = await _live(session)
    return [BindingInfo.model_validate(b.model_dump()) for b in visible_bindings(doc, caller)]


@router.get("/pipelines", response_model=list[PipelineInfo])
async def pipelines(session: SessionDep, caller: Reader) -> list[PipelineInfo]:
    """Read right."""
    doc = await _live(session)
    used = {b.pipeline for b in visible_bindings(doc, caller)}
    return [PipelineInfo(version=p.version, **p.model_dump()) for p in doc.pipelines if caller.is_admin or p.name in used]


class Verdict(BaseModel):
    binding: BindingInfo
    chosen: bool
    reason: str


class BindingTest(BaseModel):
    bucket: str
    key: str
    fires: str | None = Field(description="The pipeline that would run, or null: no job would start.")
    pipeline_version: str | None
    bindings: list[Verdict]


@router.get("/bindings/test", response_model=BindingTest)
async def test_binding(request: Request, caller: Reader, bucket: Annotated[str, Query(max_length=63)],
                       key: Annotated[str, Query(max_length=1024)]) -> BindingTest:
    """Read right. Which binding would take this object, and why each other one would not."""
    return explain(await request.app.state.ctx.router.get(), caller, bucket, key)


def explain(router: Router, caller: Principal, bucket: str, key: str) -> BindingTest:
    visible = {id(b) for b in visible_bindings(router.doc, caller)}
    verdicts = [v for v in router.explain(bucket, key) if id(v.binding) in visible]
    chosen = next((v for v in verdicts if v.chosen), None)
    version = router.doc.pipeline(chosen.binding.pipeline).version if chosen else None
    return BindingTest(bucket=bucket, key=key, fires=chosen.binding.pipeline if chosen else None, pipeline_version=version,
                       bindings=[Verdict(binding=BindingInfo.model_validate(v.binding.model_dump()), chosen=v.chosen, reason=v.reason)
                                 for v in verdicts])


class ReprocessIn(BaseModel):
    since: IsoTime | None = Field(None, description="Only objects whose newest job was created at or after this (ISO 8601).")


class ReprocessOut(BaseModel):
    pipeline: str
    version: str = Field(description="The live version the new jobs run.")
    considered: int = Field(description="Objects whose newest job succeeded under an older version.")
    created: int
    existing: int = Field(description="Had a job of the live version already.")
    unroutable: int = Field(description="The output template refuses the key now.")


@router.post("/pipelines/{name}/reprocess", response_model=ReprocessOut,
             responses={404: error("No such pipeline in the applied document.")})
async def reprocess_pipeline(name: str, body: ReprocessIn, request: Request, session: SessionDep, caller: Writer,
                             origin: OriginDep) -> ReprocessOut:
    """Write right. Jobs of the live version of a pipeline for the objects, inside the caller's
    scopes, that an older version last processed successfully; asking twice makes nothing twice."""
    done = await reprocess.reprocess(session, caller, await request.app.state.ctx.router.get(), name, body.since, origin)
    return ReprocessOut(**done.__dict__)
