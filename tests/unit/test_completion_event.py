"""The completion event says how many bad rows a job set aside and where they are."""

from __future__ import annotations

from datetime import UTC, datetime

from pravah.db.models import Job, Status
from pravah.jobs import completion_event


def job(report: dict) -> Job:
    return Job(id="j1", bucket="in", key="a.csv", pipeline="p", pipeline_version="v1", status=Status.SUCCEEDED, attempts=1, run=1,
               version_id=None, etag="e", size=10, output_bucket="out", output_key="a.parquet", report=report, error=None)


def test_rejects_are_in_the_event() -> None:
    report = {"rows_in": 3, "rows_out": 3, "rows_rejected": 2, "outputs": [{"size": 5, "sha256": "s"}],
              "rejects": {"uri": "file:///x", "size": 40, "sha256": "r"}}
    data = completion_event(job(report), datetime.now(UTC)).payload["data"]
    assert data["rejects"] == {"bucket": "out", "key": "a.parquet.rejects.jsonl", "size": 40, "sha256": "r", "rows": 2}
    assert data["metrics"]["rows_rejected"] == 2


def test_no_rejects_no_entry() -> None:
    data = completion_event(job({"rows_in": 1, "rows_out": 1, "outputs": []}), datetime.now(UTC)).payload["data"]
    assert data["rejects"] is None


TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_event_continues_the_current_span_else_the_jobs_trace() -> None:
    from pravah.observe import traces

    j = job({"outputs": []})
    assert "traceparent" not in completion_event(j, datetime.now(UTC)).payload  # no trace at all: no attribute (not null)
    j.traceparent = TP
    assert completion_event(j, datetime.now(UTC)).payload["traceparent"] == TP  # a cancel from the API: the job's own trace
    run = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
    with traces.span("run", run):  # without tracing set up, the no-op span is its parent's context
        assert completion_event(j, datetime.now(UTC)).payload["traceparent"] == run


def test_many_outputs_are_keyed_under_the_prefix_and_the_event_lists_a_thousand() -> None:
    from pravah.jobs import EVENT_OUTPUTS, keyed

    raw = {"outputs": [{"uri": f"s3://out/photos/img{i}.jpg", "size": i, "sha256": "s", "content_type": "image/jpeg"} for i in range(1500)],
           "manifest": {"uri": "s3://out/photos/.pravah-manifest.json", "size": 9, "sha256": "m"}}
    report = keyed(raw, "s3://out/photos/", "photos/")
    assert report["outputs"][7]["key"] == "photos/img7.jpg" and report["manifest"]["key"] == "photos/.pravah-manifest.json"
    j = job(report)
    j.output_key = "photos/"
    data = completion_event(j, datetime.now(UTC)).payload["data"]
    assert data["outputs_total"] == 1500 and len(data["outputs"]) == EVENT_OUTPUTS
    assert data["outputs"][1] == {"bucket": "out", "key": "photos/img1.jpg", "size": 1, "sha256": "s", "content_type": "image/jpeg"}
    assert data["manifest"]["key"] == "photos/.pravah-manifest.json"
    # One output: its key is the job's output key, wherever the store put it (a local path).
    one = keyed({"outputs": [{"uri": "/data/out/a.parquet", "size": 1, "sha256": "s"}]}, "/data/out/a.parquet", "a.parquet")
    assert one["outputs"][0]["key"] == "a.parquet" and "manifest" not in one
