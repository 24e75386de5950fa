"""A tiny OTLP/HTTP trace receiver: accepts POST /v1/traces (protobuf, optionally gzip) and keeps
the spans, flattened to dicts. The tests point PRAVAH_OTEL__ENDPOINT at it; run by hand it prints
each span as one JSON line, to see what Pravah sends without a collector:

    python scripts/otlp_sink.py --port 4318   # then PRAVAH_OTEL__ENDPOINT=http://127.0.0.1:4318
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS = {0: "unset", 1: "ok", 2: "error"}


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def spans_of(body: bytes) -> list[dict[str, Any]]:
    """The spans of one export request, each with its service name and attributes as a dict."""
    req = ExportTraceServiceRequest()
    req.ParseFromString(body)
    out = []
    for rs in req.resource_spans:
        resource = {a.key: _value(a.value) for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append({
                    "service": resource.get("service.name"),
                    "name": s.name,
                    "kind": KINDS.get(s.kind, str(s.kind)),
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex() or None,
                    "start": s.start_time_unix_nano,
                    "end": s.end_time_unix_nano,
                    "attributes": {a.key: _value(a.value) for a in s.attributes},
                    "status": STATUS.get(s.status.code, str(s.status.code)),
                    "status_message": s.status.message,
                    "events": [{"name": e.name, "attributes": {a.key: _value(a.value) for a in e.attributes}} for e in s.events],
                })
    return out


class Sink:
    """The receiver on 127.0.0.1 (a free port unless given), in a thread; `spans` is what arrived."""

    def __init__(self, port: int = 0, on_span: Callable[[dict[str, Any]], None] | None = None):
        self.spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.rstrip("/") != "/v1/traces":
                    self.send_error(404)
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                got = spans_of(body)
                with sink._lock:
                    sink.spans.extend(got)
                for s in got:
                    if on_span:
                        on_span(s)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:  # quiet: the spans are the output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Sink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def wait(self, pred: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0) -> list[dict[str, Any]]:
        """All spans so far once `pred(spans)` holds; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                spans = list(self.spans)
            if pred(spans):
                return spans
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for spans; have {[(s['service'], s['name'], s['trace_id']) for s in self.spans]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=4318)
    args = ap.parse_args()
    with Sink(args.port, on_span=lambda s: print(json.dumps(s), flush=True)) as sink:
        print(f"receiving OTLP/HTTP traces on {sink.url}/v1/traces", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
