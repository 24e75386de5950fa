"""Route an object event to the binding that watches it: the most specific one wins."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import datetime

from pravah.events import ObjectEvent
from pravah.pipelines import Binding, Document, Pipeline


# Keys Pravah writes for itself (dry-run outputs under _pravah/dry-runs/): no binding takes them.
RESERVED_PREFIX = "_pravah/"


def reserved(key: str) -> bool:
    return key.startswith(RESERVED_PREFIX)


@dataclass(frozen=True)
class Route:
    binding: Binding
    pipeline: Pipeline


@dataclass(frozen=True)
class Verdict:
    binding: Binding
    chosen: bool
    reason: str


class Router:
    def __init__(self, doc: Document):
        self.doc = doc
        # Most specific first: longest prefix, then suffix/glob over none.
        self._bindings = sorted(doc.bindings, key=lambda b: b.specificity, reverse=True)

    def route(self, event: ObjectEvent) -> Route | None:
        if reserved(event.key):
            return None
        for b in self._bindings:
            if b.matches(event.bucket, event.key):
                return Route(b, self.doc.pipeline(b.pipeline))
        return None

    def explain(self, bucket: str, key: str) -> list[Verdict]:
        """Every binding, most specific first, with why it does or does not take the object;
        the first match is the one that fires (`chosen`)."""
        if reserved(key):
            return [Verdict(b, False, f"keys under {RESERVED_PREFIX} are Pravah's own (dry-run outputs): no binding takes them") for b in self._bindings]
        out, chosen = [], False
        for b in self._bindings:
            reason = b.why_not(bucket, key)
            out.append(Verdict(b, reason is None and not chosen, reason or ("matches" if not chosen else "matches, but a more specific binding wins")))
            chosen = chosen or reason is None
        return out

    @property
    def buckets(self) -> set[str]:
        return {b.bucket for b in self.doc.bindings}


class OutputKeyError(ValueError):
    """A rendered output key would escape its bucket."""


def render_output(pipeline: Pipeline, event: ObjectEvent, job_id: str, now: datetime) -> tuple[str, str]:
    """The (bucket, key) an output goes to, from the pipeline's template."""
    name = posixpath.basename(event.key)
    stem, _, ext = name.partition(".")
    values = {
        "bucket": event.bucket,
        "key": event.key,
        "dir": posixpath.dirname(event.key),
        "name": name,
        "stem": stem,
        "ext": ext,
        "pipeline": pipeline.name,
        "date": now.strftime("%Y-%m-%d"),
        "job": job_id,
    }
    rendered = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], pipeline.output)
    bucket, _, key = rendered.partition("/")
    key = re.sub(r"/+", "/", key).lstrip("/")
    if not key or any(seg in ("..", ".") for seg in key.split("/")):
        raise OutputKeyError(f"output key {key!r} (from {pipeline.output!r}) escapes or is empty")
    return bucket, key
