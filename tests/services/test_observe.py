"""Traces and logs on the real services: an upload into MinIO is one trace from ingest through
the claim, the engine run and the relay's send, with the job row, the completion event and its
Kafka header naming it; a producer's traceparent header is continued; a failure is recorded on
the spans; every line the worker logs is JSON and names the job it handled. The spans go to an
OTLP/HTTP receiver in the test (scripts/otlp_sink.py), set as PRAVAH_OTEL__ENDPOINT."""

from __future__ import annotations

import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from otlp_sink import Sink

from .conftest import RUN, Procs, drop_bucket, free_port, own_database, produce, psql, read_topic, s3_client, wait_for

IN, OUT = f"obs-in-{RUN}", f"obs-out-{RUN}"
DB = f"obs_{RUN}"
PIPELINES = f"""
pipelines:
  - {{name: to-parquet, steps: [read_csv, write_parquet], output: "{OUT}/{{stem}}.parquet"}}
  - {{name: typed, steps: [{{read_csv: {{schema: {{qty: int64}}}}}}, write_parquet], output: "{OUT}/typed/{{stem}}.parquet"}}
bindings:
  - {{bucket: {IN}, prefix: csv/, pipeline: to-parquet}}
  - {{bucket: {IN}, prefix: typed/, pipeline: typed}}
"""
CSV = b"order_id,region,qty\n1,EU,3\n2,US,5\n3,EU,7\n"
TOKEN = "token-obs-" + RUN * 2
UPSTREAM_TRACE, UPSTREAM_SPAN = uuid.uuid4().hex, uuid.uuid4().hex[:16]  # the object topic is shared: a trace of this run's own


@dataclass
class Observed:
    procs: Procs
    sink: Sink
    logs: Path


@pytest.fixture(scope="module")
def obs(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    tmp = tmp_path_factory.mktemp("observe")
    with Sink() as sink, own_database(stack, DB) as url:
        env = {**os.environ, **stack, "PRAVAH_DATABASE_URL": url, "PRAVAH_KAFKA__GROUP_ID": f"obs-{RUN}", "PRAVAH_API__PORT": str(free_port()),
               "PRAVAH_TENANTS": json.dumps([{"name": "ops", "token": TOKEN, "scopes": [IN], "rights": ["read"]}]),
               "PRAVAH_WORKER__POLL_SECONDS": "0.05", "PRAVAH_OTEL__ENDPOINT": sink.url,
               "OTEL_BSP_SCHEDULE_DELAY": "100"}  # the SDK's batch delay (ms): spans arrive while the test waits
        (tmp / "pipelines.yaml").write_text(PIPELINES)
        p = Procs(env, tmp)
        p.cli("apply", str(tmp / "pipelines.yaml"))  # writes IN's notifications: uploads reach ingest through MinIO's Kafka target
        try:
            with p.running(front="api,ingest,relay", worker="worker"):
                yield Observed(p, sink, tmp)
        finally:
            for b in (IN, OUT):
                drop_bucket(b)


def job_row(key: str) -> dict | None:
    row = psql(f"SELECT row_to_json(j) FROM (SELECT id, status, traceparent FROM jobs WHERE key = '{key}') j", DB)
    return json.loads(row) if row else None


def finished(key: str) -> dict:
    return wait_for(lambda: (j := job_row(key)) and j["status"] in ("SUCCEEDED", "FAILED") and j, 60, f"the job of {key} to finish")


def completion(obs: Observed, topic: str, key: str):
    subject = f"{IN}/{key}"
    recs = read_topic(obs.procs.env, topic, lambda rs: any(json.loads(r.value)["subject"] == subject for r in rs), 60)
    (rec,) = [r for r in recs if json.loads(r.value)["subject"] == subject]
    return json.loads(rec.value), dict(rec.headers)


def trace_of(obs: Observed, trace_id: str, names: set[str]) -> dict[str, dict]:
    """The spans of `trace_id` by name, once every one of `names` arrived (one of each)."""
    spans = obs.sink.wait(lambda got: names <= {s["name"] for s in got if s["trace_id"] == trace_id}, 30)
    mine = [s for s in spans if s["trace_id"] == trace_id]
    assert sorted(s["name"] for s in mine) == sorted(names), "one span of each, in one trace"
    return {s["name"]: s for s in mine}


def parts(traceparent: str) -> tuple[str, str]:
    """(trace id, span id)."""
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


def test_an_upload_is_one_trace_from_ingest_to_the_completion_event(obs: Observed) -> None:
    key = "csv/orders one.csv"
    s3_client().put_object(Bucket=IN, Key=key, Body=CSV)
    job = finished(key)
    assert job["status"] == "SUCCEEDED"
    event, headers = completion(obs, "pravah.jobs.succeeded", key)
    trace_id, ingest_id = parts(job["traceparent"])
    spans = trace_of(obs, trace_id, {"pravah.ingest", "pravah.claim", "pravah.run", "pravah.engine", "pravah.publish"})

    ingest, claim, run, engine, publish = (spans[n] for n in ("pravah.ingest", "pravah.claim", "pravah.run", "pravah.engine", "pravah.publish"))
    assert ingest["span_id"] == ingest_id and ingest["parent_span_id"] is None  # MinIO sends no trace: ingest starts it
    assert ingest["kind"] == "consumer" and ingest["attributes"]["pravah.outcome"] == "created"
    assert ingest["attributes"]["pravah.job.id"] == job["id"] and ingest["attributes"]["pravah.object.key"] == key
    assert claim["parent_span_id"] == run["parent_span_id"] == ingest_id and engine["parent_span_id"] == run["span_id"]
    assert (ingest["service"], claim["service"], run["service"], publish["service"]) == ("pravah", "pravah-worker", "pravah-worker", "pravah")
    assert run["attributes"] == {
        "pravah.job.id": job["id"], "pravah.pipeline": "to-parquet", "pravah.pipeline.version": run["attributes"]["pravah.pipeline.version"],
        "pravah.pool": "default", "pravah.job.attempt": 1, "pravah.object.bucket": IN, "pravah.object.key": key, "pravah.object.size": len(CSV),
        "pravah.outcome": "succeeded", "pravah.rows.in": 3, "pravah.rows.out": 3, "pravah.rows.rejected": 0,
        "pravah.bytes.in": len(CSV), "pravah.bytes.out": event["data"]["metrics"]["bytes_out"]}
    assert run["status"] == "unset" and claim["start"] <= claim["end"] <= run["start"] <= engine["start"] <= engine["end"] <= run["end"]
    # The event continues the run; the relay's send is a child of it and is what the Kafka header names.
    assert parts(event["traceparent"]) == (trace_id, run["span_id"])
    assert publish["parent_span_id"] == run["span_id"] and publish["kind"] == "producer"
    assert publish["attributes"]["messaging.destination.name"] == "pravah.jobs.succeeded"
    assert parts(headers["traceparent"].decode()) == (trace_id, publish["span_id"])
    detail = httpx.get(f"{obs.procs.api}/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert detail["traceparent"] == job["traceparent"]  # what a user looks the trace up by


def test_a_producers_traceparent_is_continued(obs: Observed) -> None:
    key = "csv/traced.csv"
    etag = s3_client().put_object(Bucket=IN, Key=key, Body=CSV)["ETag"].strip('"')  # MinIO's own event (no trace) makes one job
    # A producer that traces sends its own record for the object (another version: another job) with a traceparent header.
    record = {"eventName": "s3:ObjectCreated:Put", "eventTime": "2026-11-23T10:00:00Z",
              "s3": {"bucket": {"name": IN}, "object": {"key": urllib.parse.quote(key), "size": len(CSV), "eTag": etag, "versionId": "v-traced"}}}
    produce(obs.procs.env, obs.procs.env["PRAVAH_KAFKA__OBJECT_TOPIC"], [json.dumps({"Records": [record]}).encode()], key=f"{IN}/{key}".encode(),
            headers=[("traceparent", f"00-{UPSTREAM_TRACE}-{UPSTREAM_SPAN}-01".encode())])
    row = wait_for(lambda: psql(f"SELECT row_to_json(j) FROM (SELECT id, traceparent FROM jobs WHERE key = '{key}' "
                                "AND version_id = 'v-traced' AND status = 'SUCCEEDED') j", DB), 60, "the traced job to succeed")
    job = json.loads(row)
    assert parts(job["traceparent"])[0] == UPSTREAM_TRACE
    spans = trace_of(obs, UPSTREAM_TRACE, {"pravah.ingest", "pravah.claim", "pravah.run", "pravah.engine", "pravah.publish"})
    assert spans["pravah.ingest"]["parent_span_id"] == UPSTREAM_SPAN and spans["pravah.ingest"]["span_id"] == parts(job["traceparent"])[1]
    recs = read_topic(obs.procs.env, "pravah.jobs.succeeded", lambda rs: any(json.loads(r.value)["data"]["job_id"] == job["id"] for r in rs), 60)
    (rec,) = [r for r in recs if json.loads(r.value)["data"]["job_id"] == job["id"]]
    assert parts(json.loads(rec.value)["traceparent"]) == (UPSTREAM_TRACE, spans["pravah.run"]["span_id"])
    assert parts(dict(rec.headers)["traceparent"].decode()) == (UPSTREAM_TRACE, spans["pravah.publish"]["span_id"])


def test_a_failed_run_is_an_error_span_with_the_engines_exception(obs: Observed) -> None:
    key = "typed/bad.csv"
    s3_client().put_object(Bucket=IN, Key=key, Body=b"order_id,region,qty\n1,EU,three\n")
    job = finished(key)
    assert job["status"] == "FAILED"
    event, headers = completion(obs, "pravah.jobs.failed", key)
    trace_id, _ = parts(job["traceparent"])
    spans = trace_of(obs, trace_id, {"pravah.ingest", "pravah.claim", "pravah.run", "pravah.engine", "pravah.publish"})
    run, engine = spans["pravah.run"], spans["pravah.engine"]
    assert run["status"] == "error" and run["status_message"] == event["data"]["error"] and run["attributes"]["pravah.outcome"] == "failed"
    assert engine["status"] == "error" and [e["name"] for e in engine["events"]] == ["exception"]
    raised = engine["events"][0]["attributes"]
    assert f"{raised['exception.type'].rsplit('.', 1)[-1]}: {raised['exception.message']}" == event["data"]["error"]
    assert parts(event["traceparent"]) == (trace_id, run["span_id"]) and parts(headers["traceparent"].decode())[0] == trace_id


def test_every_worker_line_is_json_and_names_the_job_it_handled(obs: Observed) -> None:
    key = "csv/logged.csv"
    s3_client().put_object(Bucket=IN, Key=key, Body=CSV)
    job = finished(key)
    trace_of(obs, parts(job["traceparent"])[0], {"pravah.ingest", "pravah.claim", "pravah.run", "pravah.engine", "pravah.publish"})
    for name in ("worker", "front"):
        text = (obs.logs / f"{name}.log").read_text()
        lines = [json.loads(line) for line in text.splitlines()]  # every line, the migrations' and the libraries' too
        assert all(line.keys() >= {"time", "level", "logger", "message"} for line in lines), name
    worker = [json.loads(line) for line in (obs.logs / "worker.log").read_text().splitlines()]
    (done,) = [line for line in worker if line.get("job_id") == job["id"]]
    assert done["message"].endswith("→ SUCCEEDED") and done["logger"] == "pravah.worker"
    assert (done["pipeline"], done["trace_id"]) == ("to-parquet", parts(job["traceparent"])[0])
    front = [json.loads(line) for line in (obs.logs / "front.log").read_text().splitlines()]
    (created,) = [line for line in front if line.get("job_id") == job["id"] and line["logger"] == "pravah.ingest"]
    assert (created["trace_id"], created["span_id"]) == parts(job["traceparent"])
