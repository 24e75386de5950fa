"""Ingest: parse, route and create jobs idempotently. Transport-free: the embedded watcher
calls `ingest`, the Kafka consumer calls `ingest_messages` with raw payloads."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import jobs, metrics, registry
from pravah.events import EventFormatError, ObjectEvent, parse_message
from pravah.observe import logs, traces
from pravah.pipelines import Document
from pravah.routing import OutputKeyError, Router, reserved

log = logging.getLogger("pravah.ingest")

# S3 and EventBridge cap an event at 256 KB; anything larger is not an object event.
MAX_EVENT_BYTES = 256 * 1024


@dataclass
class IngestStats:
    created: int = 0
    duplicates: int = 0
    unrouted: int = 0
    rejected: int = 0
    skipped: int = 0  # removals, test events, other event kinds
    dead: int = 0  # malformed payloads sent to the dead-letter topic

    def add(self, outcome: str, n: int = 1) -> None:
        """Count `n` events under `outcome` (a field name) here and in /metrics."""
        if n:
            setattr(self, outcome, getattr(self, outcome) + n)
            metrics.INGESTED.labels(outcome).inc(n)


@dataclass(frozen=True)
class DeadLetter:
    index: int  # position in the batch
    raw: bytes
    reason: str


async def ingest(sessions: async_sessionmaker, router: Router, events: list[ObjectEvent], stats: IngestStats,
                 parents: Sequence[str | None] = ()) -> None:
    """Create jobs for `events` in one transaction; durable when this returns. Each event gets a
    span, continuing the trace its message came with (`parents`, by position) or starting one;
    its job carries that span's context."""
    t = jobs.now()
    rows: list[dict] = []
    spans: list[traces.Span] = []
    for i, ev in enumerate(events):
        if reserved(ev.key):
            # Pravah's own scratch (dry-run outputs): not an upload, and not counted anywhere.
            log.debug("ignored %s/%s: a reserved key", ev.bucket, ev.key)
            continue
        span = traces.start("pravah.ingest", parents[i] if parents else None, kind="consumer", attrs={
            "pravah.object.bucket": ev.bucket, "pravah.object.key": ev.key, "pravah.object.size": ev.size})
        route = router.route(ev)
        try:
            if route is None:
                stats.add("unrouted")
                span.set({"pravah.outcome": "unrouted"})
                span.end()
                continue
            with span.current():
                rows.append(jobs.job_row(ev, route, t))
            spans.append(span)
        except OutputKeyError as e:
            stats.add("rejected")
            span.set({"pravah.outcome": "rejected"})
            span.fail(e)
            span.end()
    if not rows:
        return
    try:
        async with sessions() as s:
            if jobs.in_one_statement(s, len(rows)):
                # One INSERT is atomic by itself: autocommit spares BEGIN and COMMIT, two round
                # trips before a worker can see the job.
                await s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            created = set(await jobs.create_jobs(s, rows))
            await s.commit()
    except BaseException as e:
        for span in spans:
            span.fail(e)
            span.end()
        raise
    for row, span in zip(rows, spans, strict=True):
        new = row["id"] in created
        span.set({"pravah.outcome": "created" if new else "duplicate", "pravah.pipeline": row["pipeline"],
                  "pravah.job.id": row["id"] if new else None})
        if new:
            with span.current(), logs.job_context(row["id"], row["pipeline"]):
                log.info("job created for %s/%s", row["bucket"], row["key"])
        span.end()
    stats.add("created", len(created))
    stats.add("duplicates", len(rows) - len(created))


async def ingest_messages(sessions: async_sessionmaker, router: Router, messages: list[bytes], stats: IngestStats,
                          traceparents: Sequence[str | None] = ()) -> list[DeadLetter]:
    """Jobs for every object-created record in `messages`, in one transaction; returns the
    payloads that could not be parsed, each with its reason (for the dead-letter topic).
    `traceparents`: the trace context each message came with (by position), if any."""
    events: list[ObjectEvent] = []
    parents: list[str | None] = []
    dead: list[DeadLetter] = []
    for i, raw in enumerate(messages):
        if len(raw) > MAX_EVENT_BYTES:
            dead.append(DeadLetter(i, raw, f"payload of {len(raw):,} bytes is over the {MAX_EVENT_BYTES:,}-byte limit for one event message"))
            continue
        try:
            parsed = parse_message(raw)
        except EventFormatError as e:
            dead.append(DeadLetter(i, raw, str(e)))
            continue
        stats.add("skipped", parsed.skipped)
        events.extend(parsed.events)
        parents.extend([traceparents[i] if traceparents else None] * len(parsed.events))
    if events:
        await ingest(sessions, router, events, stats, parents)
    stats.add("dead", len(dead))
    return dead


class LiveRouter:
    """The router of the newest applied document, re-read at most every `ttl` seconds so an
    `apply` reaches running ingest processes without a restart."""

    def __init__(self, sessions: async_sessionmaker, ttl: float = 2.0):
        self.sessions, self.ttl = sessions, ttl
        self._router = Router(Document())  # until the first apply: nothing is bound
        self._doc_id: int | None = None
        self._checked = 0.0

    async def get(self) -> Router:
        if time.monotonic() - self._checked >= self.ttl:
            async with self.sessions() as s:
                current = await registry.live(s)
            self._checked = time.monotonic()
            if current is not None and current[0] != self._doc_id:
                self._doc_id, self._router = current[0], Router(current[1])
                log.info("routing by applied document %s", self._doc_id)
        return self._router
