"""Logging for every process: one handler on the root logger writing JSON lines (for a log
collector) or readable text to stderr. While a job is handled (`job_context`), every line
names the job and pipeline, and the trace and span it belongs to."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from pravah.observe import traces
from pravah.settings import LogSettings

_job: ContextVar[tuple[str, str] | None] = ContextVar("pravah_job", default=None)

CONTEXT = ("job_id", "pipeline", "trace_id", "span_id")
# Attributes every LogRecord has; whatever else a record carries was passed as `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", *CONTEXT}


@contextmanager
def job_context(job_id: str, pipeline: str) -> Iterator[None]:
    """Lines logged in this block (and in tasks it starts) carry the job id and pipeline."""
    token = _job.set((job_id, pipeline))
    try:
        yield
    finally:
        _job.reset(token)


class ContextFilter(logging.Filter):
    """Stamps the job and trace of the emitting task onto the record, while it is still current."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _job.get()
        record.job_id, record.pipeline = job if job else (None, None)
        ids = traces.current_ids()
        record.trace_id, record.span_id = ids if ids else (None, None)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ms), level, logger, message, the job and trace
    fields when set, `extra=` fields, and a traceback as one `exception` string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for k in CONTEXT:
            v = getattr(record, k, None)
            if v is not None:
                line[k] = v
        for k, v in vars(record).items():
            if k not in _STANDARD and k not in line:
                line[k] = v
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A readable line; the job and trace in brackets at its end when set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        tags = [f"{k}={getattr(record, k)}" for k in ("job_id", "pipeline", "trace_id") if getattr(record, k, None)]
        return f"{text} [{' '.join(tags)}]" if tags else text


def setup(cfg: LogSettings, default_format: str, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one to `stream` (stderr) in the configured format
    (`default_format` when the setting is unset); returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if (cfg.format or default_format) == "json" else TextFormatter())
    root = logging.getLogger()
    for h in root.handlers[:]:
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(cfg.level)
    return handler
