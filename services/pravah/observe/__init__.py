"""Observability: logs (JSON or text, naming the job and trace of each line) and traces
(OpenTelemetry, behind the few functions of `traces`)."""

from __future__ import annotations

from pravah.settings import Settings


def setup(settings: Settings, service: str, log_format: str) -> None:
    """Logs and traces of a long-running process (`pravah serve`, `pravah up`), before it logs anything."""
    from pravah.observe import logs, traces

    logs.setup(settings.log, log_format)
    traces.setup(settings.otel, service)
