"""Pipelines (with each one's recent jobs as a strip), one pipeline's versions with a diff
between any two, its steps and a dry-run on a sample; bindings with the "which binding
takes this key, and why (not)?" tester."""

from __future__ import annotations

import difflib

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from pravah.api.routes.dryrun import DryRunRequest, create_dry_run
from pravah.api.routes.registry import explain, visible_bindings
from pravah.db.models import Job, PipelineVersion
from pravah.dryrun import DryRun
from pravah.errors import Forbidden, Invalid, NotFound
from pravah.web.identity import Viewer
from pravah.web.render import page

router = APIRouter(include_in_schema=False)
STRIP = 20  # recent jobs per pipeline


def _visible_pipelines(doc, me) -> list:
    used = {b.pipeline for b in visible_bindings(doc, me)}
    return [p for p in doc.pipelines if me.is_admin or p.name in used]


async def _recent(s, me, name: str) -> list:
    q = (select(Job.id, Job.status, Job.key, Job.created_at).where(Job.pipeline == name, me.visible(Job.bucket, Job.key))
         .order_by(Job.created_at.desc()).limit(STRIP))
    return list(reversed((await s.execute(q)).all()))


@router.get("/ui/pipelines", response_class=HTMLResponse)
async def pipelines_page(request: Request, me: Viewer) -> HTMLResponse:
    """Any signed-in reader: the pipelines its bindings use (administrators: all)."""
    ctx = request.app.state.ctx
    doc = (await ctx.router.get()).doc
    shown = _visible_pipelines(doc, me)
    async with ctx.sessions() as s:
        strips = {p.name: await _recent(s, me, p.name) for p in shown}
    bindings = visible_bindings(doc, me)
    return page(request, "pipelines.html", pipelines=shown, strips=strips,
                bound={p.name: [b for b in bindings if b.pipeline == p.name] for p in shown})


def _yaml(spec: dict) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


@router.get("/ui/pipelines/{name}", response_class=HTMLResponse)
async def pipeline_page(request: Request, name: str, me: Viewer, a: str | None = None, b: str | None = None,
                        version: str | None = None) -> HTMLResponse:
    """Any signed-in reader who sees the pipeline (others: 404)."""
    ctx = request.app.state.ctx
    doc = (await ctx.router.get()).doc
    live = next((p for p in _visible_pipelines(doc, me) if p.name == name), None)
    async with ctx.sessions() as s:
        versions = (await s.execute(select(PipelineVersion).where(PipelineVersion.name == name)
                                    .order_by(PipelineVersion.created_at.desc()))).scalars().all()
        if live is None and not (me.is_admin and versions):
            raise NotFound(f"no pipeline {name!r}")
        strip = await _recent(s, me, name)
    by_version = {v.version: v for v in versions}
    shown = by_version.get(version) if version else None
    spec = shown.spec if shown else (live.model_dump() if live else versions[0].spec)
    diff = None
    if a and b:
        if a not in by_version or b not in by_version:
            raise NotFound(f"pipeline {name!r} has no version {a if a not in by_version else b!r}")
        diff = list(difflib.unified_diff(_yaml(by_version[a].spec).splitlines(), _yaml(by_version[b].spec).splitlines(),
                                         fromfile=a, tofile=b, lineterm=""))
    bindings = [bd for bd in visible_bindings(doc, me) if bd.pipeline == name]
    return page(request, "pipeline.html", name=name, live=live, versions=versions, spec=spec, spec_yaml=_yaml(spec), shown_version=version,
                diff=diff, a=a, b=b, strip=strip, bindings=bindings, can_write="write" in me.permissions)


@router.get("/ui/bindings", response_class=HTMLResponse)
async def bindings_page(request: Request, me: Viewer, bucket: str | None = None, key: str | None = None) -> HTMLResponse:
    """Any signed-in reader: its bindings, and the tester (the URL holds the object tested)."""
    router_ = await request.app.state.ctx.router.get()
    test = explain(router_, me, bucket[:63], key[:1024]) if bucket and key else None
    return page(request, "bindings.html", bindings=visible_bindings(router_.doc, me), test=test, bucket=bucket or "", key=key or "")


class DryRunForm(BaseModel):
    bucket: str = Field(max_length=63)
    key: str = Field(max_length=1024)
    pipeline: str = Field(max_length=64)
    spec_yaml: str = Field(max_length=200_000)


@router.post("/ui/pipelines/dry-run")
async def dry_run_form(body: DryRunForm, request: Request, me: Viewer) -> DryRun:
    """The write right (checked as the API does, CSRF included). The page's YAML, parsed here:
    unchanged → the applied pipeline; edited → an unsaved spec, validated first."""
    if "write" not in me.permissions:
        raise Forbidden(f"a dry run needs the 'write' right; {me.name} has {', '.join(sorted(me.permissions))}")
    try:
        edited = yaml.safe_load(body.spec_yaml)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Invalid(f"the definition is not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if not isinstance(edited, dict):
        raise Invalid("the definition must be a YAML mapping (name, steps, output …)")
    doc = (await request.app.state.ctx.router.get()).doc
    live = next((p for p in doc.pipelines if p.name == body.pipeline), None)
    same = live is not None and edited == live.model_dump()
    req = DryRunRequest(bucket=body.bucket, key=body.key, pipeline=body.pipeline if same else None, spec=None if same else edited)
    async with request.app.state.ctx.sessions() as s:
        return await create_dry_run(req, request, s, me)
