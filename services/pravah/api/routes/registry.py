"""/v1/pipelines and /v1/bindings: the live applied document. A tenant sees the bindings on
its buckets and the pipelines those bindings use."""

from __future__ import annotations

from fastapi import APIRouter

from pravah import registry
from pravah.api.deps import SessionDep, TenantDep
from pravah.api.schemas import BindingInfo, PipelineInfo
from pravah.pipelines import Binding, Document
from pravah.settings import Tenant

router = APIRouter(prefix="/v1", tags=["pipelines"])


def _visible_bindings(doc: Document, tenant: Tenant | None) -> list[Binding]:
    if tenant is None:
        return doc.bindings

    def overlaps(b: Binding) -> bool:
        for scope in tenant.scopes:
            bucket, _, prefix = scope.partition("/")
            if b.bucket == bucket and (b.prefix.startswith(prefix) or prefix.startswith(b.prefix)):
                return True
        return False

    return [b for b in doc.bindings if overlaps(b)]


async def _live(session: SessionDep) -> Document:
    current = await registry.live(session)
    return current[1] if current else Document()


@router.get("/bindings", response_model=list[BindingInfo])
async def bindings(session: SessionDep, tenant: TenantDep) -> list[BindingInfo]:
    doc = await _live(session)
    return [BindingInfo.model_validate(b.model_dump()) for b in _visible_bindings(doc, tenant)]


@router.get("/pipelines", response_model=list[PipelineInfo])
async def pipelines(session: SessionDep, tenant: TenantDep) -> list[PipelineInfo]:
    doc = await _live(session)
    used = {b.pipeline for b in _visible_bindings(doc, tenant)}
    return [
        PipelineInfo(version=p.version, **p.model_dump())
        for p in doc.pipelines
        if tenant is None or p.name in used
    ]
