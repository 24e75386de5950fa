"""Traces: the only module that imports OpenTelemetry. The rest of Pravah starts spans, reads
the current W3C `traceparent` and hands one on through these few functions.

Until `setup` runs (unit tests, `pravah run`) spans are OpenTelemetry's no-op ones. `setup`
installs the SDK: with an endpoint, spans go to an OTLP/HTTP collector in batches; without one,
nothing is recorded or exported, but spans still get real ids (the SDK's non-recording spans),
so logs and the job row carry a trace id and the context flows on to the completion event.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from pravah.settings import OtelSettings

Kind = Literal["internal", "consumer", "producer"]
_KINDS = {"internal": SpanKind.INTERNAL, "consumer": SpanKind.CONSUMER, "producer": SpanKind.PRODUCER}

_tracer: trace.Tracer = trace.NoOpTracer()
_provider: Any = None  # the SDK's TracerProvider once `setup` ran

# W3C Trace Context, level 1: version-traceid-parentid-flags, lowercase hex. A later version may
# append fields after a dash; a reader of version 00 keeps the first four.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def setup(cfg: OtelSettings, service: str) -> None:
    """Install the SDK for this process (again: the previous provider is flushed and replaced)."""
    global _tracer, _provider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

    # A sampled parent is followed either way: passing its decision on is what a hop in the middle owes.
    root = TraceIdRatioBased(cfg.sample_ratio) if cfg.endpoint else ALWAYS_OFF
    resource = Resource.create({"service.name": cfg.service_name or service, "service.version": _version(),
                                "service.instance.id": socket.gethostname()})
    provider = TracerProvider(sampler=ParentBased(root), resource=resource)
    if cfg.endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        url = cfg.endpoint if cfg.endpoint.rstrip("/").endswith("/v1/traces") else cfg.endpoint.rstrip("/") + "/v1/traces"
        headers = {k: v.get_secret_value() for k, v in cfg.headers.items()}
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, headers=headers)))
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer = provider, provider.get_tracer("pravah", _version())


def shutdown() -> None:
    """Send what is still buffered and go back to no-op spans (also done at interpreter exit)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer = None, trace.NoOpTracer()


def _version() -> str:
    try:
        return version("pravah")
    except PackageNotFoundError:
        return "0"


def valid(value: str | bytes | None) -> str | None:
    """`value` as a version-00 traceparent when it is a well-formed one, else None (headers
    come from any producer: a malformed one starts a new trace instead of failing the event)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not value:
        return None
    m = _TRACEPARENT.fullmatch(value.strip())
    if m is None:
        return None
    ver, trace_id, span_id, flags, rest = m.groups()
    if ver == "ff" or (ver == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    return f"00-{trace_id}-{span_id}-{flags}"


def from_headers(headers: Mapping[str, Any] | list[tuple[str, Any]] | None) -> str | None:
    """The valid traceparent among Kafka headers ((name, value) pairs or a mapping), if any."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    for name, value in items:
        if name.lower() == "traceparent":
            return valid(value)
    return None


def _context_of(parent: str | None) -> otel_context.Context | None:
    """A context whose current span is the remote `parent`; None: continue the current one."""
    tp = valid(parent)
    if tp is None:
        return None
    _, trace_id, span_id, flags = tp.split("-")
    remote = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16)))
    return trace.set_span_in_context(NonRecordingSpan(remote))


def _traceparent_of(span: trace.Span) -> str | None:
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def _attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Span attributes without the unknown (None) ones, which OpenTelemetry refuses."""
    return {k: v for k, v in (attrs or {}).items() if v is not None}


class Span:
    """A started span: annotate it, mark it failed, end it."""

    def __init__(self, span: trace.Span):
        self._span = span

    @property
    def traceparent(self) -> str | None:
        return _traceparent_of(self._span)

    def set(self, attrs: Mapping[str, Any]) -> None:
        self._span.set_attributes(_attrs(attrs))

    def fail(self, error: BaseException | str) -> None:
        """Status ERROR, with the exception as an event when there is one."""
        if isinstance(error, BaseException):
            self._span.record_exception(error)
            error = f"{type(error).__name__}: {error}"
        self._span.set_status(Status(StatusCode.ERROR, error))

    def end(self, end_time: int | None = None) -> None:
        self._span.end(end_time)

    @contextmanager
    def current(self) -> Iterator[Span]:
        """Make this span the current one for the block (log lines name it), without ending it."""
        with trace.use_span(self._span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
            yield self


def start(name: str, parent: str | None = None, attrs: Mapping[str, Any] | None = None, kind: Kind = "internal", start_time: int | None = None) -> Span:
    """A span the caller ends: a child of `parent` (a traceparent) when it is valid, else of the current span."""
    return Span(_tracer.start_span(name, context=_context_of(parent), kind=_KINDS[kind], attributes=_attrs(attrs), start_time=start_time))


@contextmanager
def span(name: str, parent: str | None = None, attrs: Mapping[str, Any] | None = None, kind: Kind = "internal") -> Iterator[Span]:
    """A span that is current for the block and ends with it; an exception leaving the block is
    recorded and marks it failed."""
    s = start(name, parent, attrs, kind)
    try:
        with s.current():
            yield s
    except BaseException as e:
        s.fail(e)
        raise
    finally:
        s.end()


def traceparent() -> str | None:
    """The current span's traceparent (what a job row, an event or a header carries on)."""
    return _traceparent_of(trace.get_current_span())


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span in hex, for log lines."""
    ctx = trace.get_current_span().get_span_context()
    return (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}") if ctx.is_valid else None
