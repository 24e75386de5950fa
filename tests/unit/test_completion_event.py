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
