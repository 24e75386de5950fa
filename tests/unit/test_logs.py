"""Logs (pravah.observe.logs): JSON lines with the job and trace of the emitting task, text
lines with them in brackets, tracebacks as one field, the root logger set up once."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import anyio
import pytest

from pravah.observe import logs, traces
from pravah.settings import LogSettings, OtelSettings

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
log = logging.getLogger("pravah.test")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger writing JSON to a buffer; the previous handlers and level restored after."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    buf = io.StringIO()
    logs.setup(LogSettings(format="json", level="debug"), "text", stream=buf)
    yield buf
    for h in root.handlers[:]:
        root.removeHandler(h)
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)
    traces.shutdown()


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_a_line_has_time_level_logger_and_message(stream: io.StringIO) -> None:
    log.info("hello %s", "world")
    (line,) = [x for x in lines(stream) if x["logger"] == "pravah.test"]  # a thread an earlier test left may log too
    assert line.keys() == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "pravah.test", "hello world")
    assert line["time"].endswith("Z") and len(line["time"]) == len("2026-11-23T18:09:22.786Z")


def test_job_and_trace_fields_while_a_job_is_handled_and_not_after(stream: io.StringIO) -> None:
    with logs.job_context("j1", "to-parquet"), traces.span("run", TP) as span:
        log.info("inside")
    log.info("after")
    inside, after = lines(stream)
    assert (inside["job_id"], inside["pipeline"]) == ("j1", "to-parquet")
    assert (inside["trace_id"], inside["span_id"]) == tuple(span.traceparent.split("-")[1:3])
    assert not {"job_id", "pipeline", "trace_id", "span_id"} & after.keys()


def test_span_ids_are_the_current_spans_once_tracing_is_set_up(stream: io.StringIO) -> None:
    traces.setup(OtelSettings(), "pravah-test")
    with logs.job_context("j1", "p"), traces.span("run", TP):
        with traces.span("engine") as engine:
            log.info("in the engine span")
        log.info("back in run")
    first, second = lines(stream)
    assert first["trace_id"] == second["trace_id"] == TP.split("-")[1]
    assert first["span_id"] == engine.traceparent.split("-")[2] != second["span_id"]


def test_each_task_logs_its_own_job(stream: io.StringIO) -> None:
    async def handle(job: str, ready: anyio.Event, go: anyio.Event) -> None:
        with logs.job_context(job, "p"):
            ready.set()
            await go.wait()  # both contexts are set before either logs
            log.info("done")

    async def main() -> None:
        go = anyio.Event()
        async with anyio.create_task_group() as tg:
            for job in ("a", "b"):
                ready = anyio.Event()
                tg.start_soon(handle, job, ready, go)
                await ready.wait()
            go.set()

    anyio.run(main)
    assert sorted(line["job_id"] for line in lines(stream) if line["logger"] == "pravah.test") == ["a", "b"]


def test_an_exception_is_one_field_and_the_line_stays_one_line(stream: io.StringIO) -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        log.exception("failed")
    assert len(stream.getvalue().splitlines()) == 1
    (line,) = lines(stream)
    assert line["message"] == "failed" and line["exception"].startswith("Traceback") and 'ValueError: bad\nthing' in line["exception"]


def test_extra_fields_are_kept_and_anything_is_serialised(stream: io.StringIO) -> None:
    log.warning("with extra", extra={"topic": "pravah.objects", "offset": 7, "obj": object()})
    (line,) = lines(stream)
    assert line["topic"] == "pravah.objects" and line["offset"] == 7 and line["obj"].startswith("<object")


def test_level_filters_and_setup_replaces_the_handlers() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        buf = io.StringIO()
        logs.setup(LogSettings(format="json"), "json", stream=io.StringIO())
        logs.setup(LogSettings(level="warning"), "json", stream=buf)
        assert len(root.handlers) == 1
        log.info("dropped")
        log.warning("kept")
        assert [line["message"] for line in lines(buf)] == ["kept"]
    finally:
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)


def test_text_lines_end_with_the_job_in_brackets() -> None:
    fmt = logs.TextFormatter()
    record = logging.LogRecord("pravah.worker", logging.INFO, __file__, 1, "job %s done", ("j1",), None)
    logs.ContextFilter().filter(record)
    assert fmt.format(record).endswith("INFO pravah.worker job j1 done")
    with logs.job_context("j1", "p"), traces.span("run", TP):
        logs.ContextFilter().filter(record)
    assert fmt.format(record).endswith(f"job j1 done [job_id=j1 pipeline=p trace_id={TP.split('-')[1]}]")
