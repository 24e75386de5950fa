"""The worker's spans on SQLite and a local store, sent to a real OTLP/HTTP receiver: a job made
outside any trace (submitted through the API before tracing, or older than it) still gets one
trace for its claim and run, and its completion event continues the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from otlp_sink import Sink
from sqlalchemy import select

from pravah import registry
from pravah.db.models import OutboxEvent
from pravah.db.session import make_engine, sessions
from pravah.observe import traces
from pravah.pipelines import Binding, Document, Pipeline
from pravah.settings import OtelSettings, WorkerSettings
from pravah.storage import LocalStore
from pravah.worker import Worker

DOC = Document(pipelines=[Pipeline(name="p", steps=[{"op": "read_csv"}, {"op": "write_parquet"}], output="out/{stem}.parquet")],
               bindings=[Binding(bucket="in", pipeline="p")])
CSV = b"a,b\n1,2\n3,4\n"


def test_a_job_without_a_trace_gets_one_for_its_attempt(tmp_path: Path, db_url: str, seed_job: Any) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_bytes(CSV)

    async def go() -> dict:
        eng = make_engine(db_url)
        s = sessions(eng)
        job_id = await seed_job(s, DOC, "x.csv", len(CSV))  # no span is current: the job carries no trace
        assert await Worker(s, registry.Registry(s), LocalStore(tmp_path), WorkerSettings()).run_one()
        async with s() as session:
            event = (await session.execute(select(OutboxEvent.payload).where(OutboxEvent.job_id == job_id))).scalar_one()
        await eng.dispose()
        return event

    with Sink() as sink:
        traces.setup(OtelSettings(endpoint=sink.url), "pravah-worker")
        try:
            event = anyio.run(go)
        finally:
            traces.shutdown()
        spans = {s["name"]: s for s in sink.wait(lambda got: len(got) == 3, 10)}
    claim, run, engine = spans["pravah.claim"], spans["pravah.run"], spans["pravah.engine"]
    assert claim["trace_id"] == run["trace_id"] == engine["trace_id"]
    assert claim["parent_span_id"] is None and run["parent_span_id"] == claim["span_id"] and engine["parent_span_id"] == run["span_id"]
    assert run["attributes"]["pravah.outcome"] == "succeeded" and run["attributes"]["pravah.pool"] == "default"
    _, trace_id, span_id, flags = event["traceparent"].split("-")
    assert (trace_id, span_id) == (run["trace_id"], run["span_id"]) and int(flags, 16) & 1  # sampled
