"""The Kafka edges, with FastStream: the ingest consumer (object events in, jobs out, bad
payloads to the dead-letter topic) and the completion-event publisher the relay uses.

Offsets are committed only after the batch's jobs are durable (AckPolicy.MANUAL, ack after
the transaction commits). FastStream's Kafka default acknowledges first, which would lose the
events of a batch in flight when the process dies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiokafka import TopicPartition

from pravah import metrics
from pravah.observe import logs, traces
from pravah.ops import dead_letters
from pravah.ingest import IngestStats, LiveRouter, ingest_messages
from pravah.settings import KafkaSettings

log = logging.getLogger("pravah.bus")


class CompletionEvent(BaseModel):
    """CloudEvents 1.0 envelope of a finished job (documented in AsyncAPI; the relay sends
    the outbox payload as it was committed)."""

    specversion: str
    id: str
    type: str
    source: str
    subject: str
    time: str
    datacontenttype: str
    data: dict[str, Any]
    traceparent: str | None = Field(None, description="W3C trace context of the job's run (CloudEvents distributed-tracing extension); "
                                    "the Kafka header traceparent is the relay's send, a child of it in the same trace.")


async def _raw(msg: Any) -> Any:
    return msg.body


def make_broker(cfg: KafkaSettings) -> KafkaBroker:
    return KafkaBroker(cfg.bootstrap_servers, acks="all", client_id="pravah", logger=logging.getLogger("pravah.kafka"))


def add_ingest(broker: KafkaBroker, cfg: KafkaSettings, sessions: async_sessionmaker, stats: IngestStats) -> None:
    """Subscribe the ingest handler to the object-event topic."""
    router = LiveRouter(sessions)

    subscriber = broker.subscriber(
        cfg.object_topic,
        group_id=cfg.group_id,
        batch=True,
        max_records=cfg.batch_size,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        session_timeout_ms=6000,  # the broker minimum: a killed ingest's partitions move on sooner
        heartbeat_interval_ms=1500,
        decoder=_raw,  # never fail before the handler: a bad payload must reach the dead-letter topic
        title="object-events",
        description="MinIO / S3 notification records or EventBridge events; each ObjectCreated record becomes a job.",
    )
    never_idle(subscriber)

    @subscriber
    async def on_object_events(body: Any, msg: KafkaMessage) -> None:
        records = tuple(msg.raw_message) if isinstance(msg.raw_message, (tuple, list)) else (msg.raw_message,)
        try:
            dead = await ingest_messages(sessions, await router.get(), [r.value or b"" for r in records], stats,
                                         [traces.from_headers(r.headers) for r in records])
            await dead_letters.record(sessions, [(f"{records[d.index].topic}/{records[d.index].partition}/{records[d.index].offset}", d.reason, d.raw)
                                                 for d in dead])
            for d in dead:
                origin = records[d.index]
                await broker.publish(d.raw, cfg.dead_letter_topic, key=origin.key, headers={
                    "pravah-reason": d.reason[:1000],
                    "pravah-origin": f"{origin.topic}/{origin.partition}/{origin.offset}",
                })
                log.warning("dead-lettered %s/%s/%s: %s", origin.topic, origin.partition, origin.offset, d.reason)
        except Exception:
            # Not durable: rewind so the batch is read again, after a pause (database down?).
            log.exception("ingest batch failed; will re-read it")
            await msg.nack()
            await anyio.sleep(1.0)
            return
        await msg.ack()
        _record_lag(msg.consumer, records)

    broker.publisher(cfg.dead_letter_topic, title="dead-letters",
                     description="Payloads ingest could not parse, unchanged; header pravah-reason says why.")


def never_idle(subscriber: Any, wait_ms: int = 500) -> None:
    """FastStream's batch subscriber sleeps as long as its fetch timeout after every empty fetch
    (200 ms by default), deaf meanwhile: an event arriving then waited up to 200 ms, the p95 of
    ingest's share. A fetch returns as soon as any record is there, so without that sleep the
    loop only ever waits for records, `wait_ms` at a time."""
    get_many = subscriber.get_msg  # the in-memory test broker never calls it

    async def get_msg(consumer: Any) -> tuple:
        if consumer is None:
            return await get_many(consumer)
        records = await consumer.getmany(timeout_ms=wait_ms, max_records=subscriber.max_records)
        return tuple(r for batch in records.values() for r in batch)

    subscriber.get_msg = get_msg


def _record_lag(consumer: Any, records: tuple) -> None:
    """Messages behind the partition's end, after this batch (a real consumer knows it)."""
    highwater = getattr(consumer, "highwater", None)  # the in-memory test broker has none
    if highwater is None:
        return
    for r in records:
        hw = highwater(TopicPartition(r.topic, r.partition))
        if hw is not None:
            metrics.INGEST_LAG.labels(str(r.partition)).set(max(0, hw - r.offset - 1))


CLOUDEVENTS_JSON = "application/cloudevents+json; charset=UTF-8"


class KafkaSink:
    """Completion events to pravah.jobs.succeeded / pravah.jobs.failed (failed and cancelled),
    keyed by the input object so one object's events stay in order."""

    def __init__(self, broker: KafkaBroker, cfg: KafkaSettings):
        self.broker, self.cfg = broker, cfg
        broker.publisher(cfg.succeeded_topic, title="jobs-succeeded", schema=CompletionEvent,
                         description="A job finished: its outputs with key, size, sha256 and content type (the first 1,000; "
                                     "outputs_total counts them all, and an unzip's manifest names every one), bad rows set aside "
                                     "(rejects: where and how many), metrics.")
        broker.publisher(cfg.failed_topic, title="jobs-failed", schema=CompletionEvent,
                         description="A job failed for good (type pravah.job.failed: the error names the place) "
                                     "or was cancelled on request (type pravah.job.cancelled).")

    async def publish(self, payloads: list[dict]) -> None:
        """Send them all, then wait for every acknowledgement: one round trip for the batch, not
        one per event (the producer keeps each partition's order). Any failure raises, so the
        relay marks none of them and sends them all again."""
        sent = []
        for p in payloads:
            topic = self.cfg.succeeded_topic if p["type"].endswith("succeeded") else self.cfg.failed_topic
            data = p["data"]
            with logs.job_context(data["job_id"], data["pipeline"]), traces.span("pravah.publish", p.get("traceparent"), kind="producer", attrs={
                    "messaging.system": "kafka", "messaging.operation.type": "send", "messaging.destination.name": topic,
                    "pravah.job.id": data["job_id"], "pravah.pipeline": data["pipeline"], "pravah.event.type": p["type"]}):
                # CloudEvents structured mode: the whole event is the body, with the Kafka binding's content type
                headers = {"content-type": CLOUDEVENTS_JSON, "ce_id": p["id"], "ce_type": p["type"]}
                if tp := traces.traceparent():
                    headers["traceparent"] = tp
                sent.append(await self.broker.publish(json.dumps(p, separators=(",", ":"), default=str).encode(), topic,
                                                      key=p["subject"].encode(), headers=headers, no_confirm=True))
                log.debug("sent %s", p["id"])
        await asyncio.gather(*(f for f in sent if asyncio.isfuture(f)))  # the in-memory test broker returns none
        metrics.PUBLISHED.inc(len(sent))


def asyncapi(cfg: KafkaSettings) -> str:
    """The AsyncAPI document of Pravah's topics (docs/asyncapi.json is this, committed)."""
    from faststream.specification import AsyncAPI

    broker = make_broker(cfg)
    add_ingest(broker, cfg, None, IngestStats())  # type: ignore[arg-type]  # the handler is never run here
    KafkaSink(broker, cfg)
    spec = AsyncAPI(broker, title="Pravah", version="0.1.0", description=(
        "Object events in (MinIO/S3 notifications on Kafka), completion events out. Completion events are "
        "published at least once; the CloudEvents id (<job>.succeeded|failed|cancelled, with .r<run> before the outcome "
        "after a manual retry) is stable, so consumers drop repeats."))
    return spec.to_specification().to_json()
