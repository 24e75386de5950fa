"""Traces (pravah.observe.traces): W3C traceparent parsing, propagation from a parent, the
no-op default, spans without an endpoint, and export to a real OTLP/HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from otlp_sink import Sink

from pravah.observe import traces
from pravah.settings import OtelSettings

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
TP = f"00-{TRACE}-{SPAN}-01"


@pytest.fixture(autouse=True)
def no_tracing_after() -> Iterator[None]:
    yield
    traces.shutdown()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TP, TP),
        (TP.encode(), TP),
        (f" {TP} ", TP),
        (f"00-{TRACE}-{SPAN}-00", f"00-{TRACE}-{SPAN}-00"),
        (f"01-{TRACE}-{SPAN}-01-future", TP),  # a later version: its first four fields are read
        (f"01-{TRACE}-{SPAN}-01", TP),
        (f"00-{TRACE}-{SPAN}-01-extra", None),  # version 00 has exactly four fields
        (f"ff-{TRACE}-{SPAN}-01", None),  # ff is forbidden
        (f"00-{'0' * 32}-{SPAN}-01", None),  # all-zero trace id
        (f"00-{TRACE}-{'0' * 16}-01", None),  # all-zero parent id
        (TP.upper(), None),  # lowercase hex only
        (f"00-{TRACE[:-1]}-{SPAN}-01", None),
        (f"00-{TRACE}-{SPAN}-1", None),
        (f"00_{TRACE}_{SPAN}_01", None),
        ("\xe9".encode("latin-1"), None),
        ("", None),
        (None, None),
    ],
)
def test_valid_traceparent(value: str | bytes | None, expected: str | None) -> None:
    assert traces.valid(value) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("content-type", b"x"), ("traceparent", TP.encode())], TP),
        ([("Traceparent", TP.encode())], TP),
        ({"traceparent": TP}, TP),
        ([("traceparent", b"garbage")], None),
        ([("tracestate", b"a=b")], None),
        ([], None),
        (None, None),
    ],
)
def test_traceparent_from_kafka_headers(headers: object, expected: str | None) -> None:
    assert traces.from_headers(headers) == expected  # type: ignore[arg-type]


def test_without_setup_spans_are_no_ops_that_pass_a_parent_through() -> None:
    with traces.span("x"):
        assert traces.traceparent() is None and traces.current_ids() is None
    with traces.span("x", TP) as s:
        assert traces.traceparent() == TP == s.traceparent


def test_without_an_endpoint_spans_have_ids_and_continue_the_parent() -> None:
    traces.setup(OtelSettings(), "pravah-test")
    with traces.span("root") as root:
        tp = root.traceparent
        assert tp is not None and traces.valid(tp) == tp
        assert int(tp.split("-")[3], 16) & 1 == 0, "not sampled: nothing is recorded without an endpoint"
        with traces.span("child"):
            assert traces.traceparent().split("-")[1] == tp.split("-")[1]
            assert traces.current_ids() == (tp.split("-")[1], traces.traceparent().split("-")[2])
    with traces.span("continued", TP):
        _, trace_id, span_id, flags = traces.traceparent().split("-")
        assert (trace_id, flags) == (TRACE, "01") and span_id != SPAN  # the upstream's sampling decision is passed on
    assert traces.traceparent() is None


def test_spans_reach_an_otlp_receiver_with_parents_attributes_and_errors() -> None:
    with Sink() as sink:
        traces.setup(OtelSettings(endpoint=sink.url), "pravah-test")
        with traces.span("ingest", TP, {"pravah.job.id": "j1", "pravah.object.size": 3, "unknown": None}, kind="consumer") as ingest:
            pass
        with pytest.raises(ZeroDivisionError), traces.span("run", ingest.traceparent):
            1 / 0
        failed = traces.start("claim", ingest.traceparent)
        failed.fail("LimitError: too big")
        failed.end()
        traces.shutdown()  # flushes the batch
        spans = {s["name"]: s for s in sink.wait(lambda got: len(got) == 3, 10)}
    assert {s["trace_id"] for s in spans.values()} == {TRACE}
    assert spans["ingest"]["parent_span_id"] == SPAN and spans["ingest"]["kind"] == "consumer"
    assert spans["run"]["parent_span_id"] == spans["claim"]["parent_span_id"] == spans["ingest"]["span_id"]
    assert spans["ingest"]["attributes"] == {"pravah.job.id": "j1", "pravah.object.size": 3}
    assert spans["ingest"]["service"] == "pravah-test" and spans["ingest"]["status"] == "unset"
    assert spans["run"]["status"] == "error" and "ZeroDivisionError" in spans["run"]["status_message"]
    assert [e["name"] for e in spans["run"]["events"]] == ["exception"]
    assert spans["claim"]["status"] == "error" and spans["claim"]["status_message"] == "LimitError: too big" and not spans["claim"]["events"]


def test_a_new_trace_is_sampled_by_ratio_and_service_name_is_configurable() -> None:
    with Sink() as sink:
        traces.setup(OtelSettings(endpoint=sink.url + "/v1/traces", sample_ratio=0, service_name="mine"), "pravah-test")
        with traces.span("dropped"):
            pass
        with traces.span("kept", TP):  # the upstream sampled it: followed whatever the ratio
            pass
        traces.shutdown()
        spans = sink.wait(lambda got: len(got) >= 1, 10)
    assert [(s["name"], s["service"]) for s in spans] == [("kept", "mine")]
