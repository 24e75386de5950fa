"""Ingest: parse, route and create jobs idempotently. Transport-free: the embedded watcher
calls `ingest`, the Kafka consumer calls `ingest_messages` with raw payloads."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import jobs, metrics, registry
from pravah.events import EventFormatError, ObjectEvent, parse_message
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


async def ingest(sessions: async_sessionmaker, router: Router, events: list[ObjectEvent], stats: IngestStats) -> None:
    """Create jobs for `events` in one transaction; durable when this returns."""
    t = jobs.now()
    rows = []
    for ev in events:
        if reserved(ev.key):
            # Pravah's own scratch (dry-run outputs): not an upload, and not counted anywhere.
            log.debug("ignored %s/%s: a reserved key", ev.bucket, ev.key)
            continue
        route = router.route(ev)
        if route is None:
            stats.add("unrouted")
            continue
        try:
            rows.append(jobs.job_row(ev, route, t))
        except OutputKeyError:
            stats.add("rejected")
    if rows:
        async with sessions() as s:
            created = await jobs.create_jobs(s, rows)
            await s.commit()
        stats.add("created", len(created))
        stats.add("duplicates", len(rows) - len(created))


async def ingest_messages(sessions: async_sessionmaker, router: Router, messages: list[bytes], stats: IngestStats) -> list[DeadLetter]:
    """Jobs for every object-created record in `messages`, in one transaction; returns the
    payloads that could not be parsed, each with its reason (for the dead-letter topic)."""
    events: list[ObjectEvent] = []
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
    if events:
        await ingest(sessions, router, events, stats)
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
