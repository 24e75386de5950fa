"""Unsaved pipelines are validated as `apply` validates them, each problem at its field; stored
step forms are accepted; keys under _pravah/ are nobody's to route."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from pravah import metrics
from pravah.db.models import Job
from pravah.db.session import make_engine, sessions
from pravah.dryrun.spec import InvalidSpec, dotted, inline
from pravah.events import ObjectEvent
from pravah.ingest import IngestStats, ingest
from pravah.pipelines import validate
from pravah.routing import Router

OK: dict[str, Any] = {"name": "p", "steps": ["read_csv", "write_parquet"], "output": "out/{stem}.parquet"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"steps": ["read_csv", {"filter": {"where": "qty >"}}, "write_csv"]}, "steps[1].filter.where", "line 1"),
        ({"steps": ["read_csv", {"filter": {"wher": "qty > 1"}}, "write_csv"]}, "steps[1].filter.wher", "unknown option"),
        ({"steps": ["read_csv", "explode", "write_csv"]}, "steps[1].explode", "unknown step"),
        ({"steps": ["write_csv", "read_csv"]}, "steps[0].write_csv", ""),
        ({"steps": []}, "steps", "at least 1"),
        ({"output": "nobucket"}, "output", "bucket/key"),
        ({"output": "out/{nope}.csv"}, "output", "unknown placeholder"),
        ({"output": "out/../x"}, "output", ".."),
        ({"name": "Not A Name"}, "name", "pattern"),
        ({"retries": -1}, "retries", "greater than or equal"),
        ({"limits": {"max_input_bytes": "lots"}}, "limits.max_input_bytes", ""),
        ({"colour": "blue"}, "colour", "Extra inputs"),
    ],
)
def test_each_problem_names_its_field(change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as e:
        inline({**OK, **change})
    problems = {dotted(loc): msg for loc, msg in e.value.problems}
    assert field in problems and words in problems[field], problems
    assert field in str(e.value)


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidSpec):
        inline(["read_csv"])


def test_stored_and_written_step_forms_are_the_same_pipeline() -> None:
    written = inline({**OK, "steps": ["read_csv", {"filter": {"where": "a > 1"}}, "write_parquet"]})
    stored = inline({**OK, "steps": [{"op": "read_csv"}, {"op": "filter", "where": "a > 1"}, {"op": "write_parquet"}]})
    assert written == stored and written.version == stored.version


def test_no_binding_takes_a_reserved_key() -> None:
    doc = validate({"pipelines": [OK], "bindings": [{"bucket": "in", "pipeline": "p"}]})
    router = Router(doc)
    ev = ObjectEvent(bucket="in", key="_pravah/dry-runs/x-1/out.parquet", size=1, etag="e", event_time=datetime.now(UTC))
    assert router.route(ev) is None
    assert router.route(dataclasses.replace(ev, key="data/x.csv")) is not None
    assert not any(v.chosen for v in router.explain("in", ev.key))


def test_ingest_ignores_reserved_keys_without_a_job_or_a_count(db_url: str) -> None:
    doc = validate({"pipelines": [OK], "bindings": [{"bucket": "in", "pipeline": "p"}]})
    ev = ObjectEvent(bucket="in", key="_pravah/dry-runs/x-1/out.parquet", size=1, etag="e", event_time=datetime.now(UTC))
    before = {o: metrics.INGESTED.labels(o)._value.get() for o in ("created", "unrouted", "skipped", "rejected", "duplicates")}

    async def go() -> int:
        eng = make_engine(db_url)
        stats = IngestStats()
        await ingest(sessions(eng), Router(doc), [ev], stats)
        async with sessions(eng)() as s:
            from sqlalchemy import func, select

            n = (await s.execute(select(func.count()).select_from(Job))).scalar_one()
        await eng.dispose()
        assert stats == IngestStats()
        return n

    assert anyio.run(go) == 0
    assert {o: metrics.INGESTED.labels(o)._value.get() for o in before} == before
