"""Which pipeline a dry-run runs: one of the live document, a stored version, or an unsaved
spec — validated exactly as `pravah validate` and `apply` would (pravah.pipelines), every
problem named by its field."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pravah import pipelines
from pravah.db.models import PipelineVersion
from pravah.errors import Invalid, NotFound
from pravah.pipelines import Document, Pipeline

Loc = tuple[str | int, ...]


class InvalidSpec(Invalid):
    """The unsaved pipeline has problems; `problems` holds (field path, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{dotted(loc) or 'spec'}: {msg}" for loc, msg in problems))


def dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _loc(path: str) -> Loc:
    """'pipelines[0].steps[1].filter.where' → ('steps', 1, 'filter', 'where')."""
    parts: list[str | int] = [int(i) if i else name for i, name in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)]
    return tuple(parts[2:]) if parts[:2] == ["pipelines", 0] else tuple(parts)


def _as_written(step: Any) -> Any:
    """A stored step ({"op": "filter", "where": …}) back in the form people write (`filter: {where: …}`)."""
    if isinstance(step, dict) and isinstance(step.get("op"), str):
        return {step["op"]: {k: v for k, v in step.items() if k != "op"}}
    return step


def inline(raw: Any) -> Pipeline:
    """An unsaved pipeline (a mapping as in the YAML, or as stored), or InvalidSpec."""
    if not isinstance(raw, dict):
        raise InvalidSpec([((), "a pipeline is a mapping with name, steps and output")])
    if isinstance(raw.get("steps"), list):
        raw = {**raw, "steps": [_as_written(s) for s in raw["steps"]]}
    try:
        return pipelines.validate({"pipelines": [raw]}, "spec").pipelines[0]
    except pipelines.InvalidPipelines as e:
        raise InvalidSpec([(_loc(p.path), p.message) for p in e.problems]) from None


def from_document(doc: Document, name: str) -> Pipeline:
    try:
        return doc.pipeline(name)
    except StopIteration:
        raise NotFound(f"no pipeline {name!r} in the applied document") from None


async def stored(session: AsyncSession, name: str, version: str) -> Pipeline:
    """A version from pipeline_versions: any version ever applied, live or not."""
    row = await session.get(PipelineVersion, (name, version))
    if row is None:
        raise NotFound(f"pipeline {name!r} has no version {version!r}; versions are the content hashes `apply` printed")
    return Pipeline.model_validate(row.spec)
