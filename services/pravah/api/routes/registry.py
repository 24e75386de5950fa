"""/v1/pipelines and /v1/bindings: the live applied document. A caller sees the bindings on
its scopes and the pipelines those bindings use (administrators: everything)."""

from __future__ import annotations

from fastapi import APIRouter

from pravah import registry
from pravah.accounts.principal import Principal, split_scope
from pravah.api.deps import Reader, SessionDep
from pravah.api.schemas import BindingInfo, PipelineInfo
from pravah.pipelines import Binding, Document

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
