"""The ingest handler's logic on FastStream's in-memory TestKafkaBroker (the real broker is
tested in tests/services): jobs created, bad payloads dead-lettered with their reason."""

from __future__ import annotations

import json
from typing import Any

import anyio
from faststream.kafka import TestKafkaBroker

from pravah import bus, registry
from pravah.db.session import make_engine, sessions
from pravah.ingest import IngestStats
from pravah.pipelines import Binding, Document, Pipeline
from pravah.settings import KafkaSettings

DOC = Document(
    pipelines=[Pipeline(name="p", steps=[{"op": "read_csv"}, {"op": "write_parquet"}], output="out/{stem}.parquet")],
    bindings=[Binding(bucket="inbox", prefix="a/", pipeline="p")],
)


def record(key: str) -> dict:
    return {"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {"name": "inbox"}, "object": {"key": key, "size": 3, "eTag": "e-" + key}}}


def test_handler_creates_jobs_once_and_dead_letters_bad_payloads(db_url: str) -> None:
    cfg = KafkaSettings()

    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            await registry.apply(session, DOC, "test")
        broker = bus.make_broker(cfg)
        stats = IngestStats()
        bus.add_ingest(broker, cfg, s, stats)
        dead: list[tuple[bytes, dict]] = []

        @broker.subscriber(cfg.dead_letter_topic)
        async def dlq(body: Any, msg: bus.KafkaMessage) -> None:
            dead.append((msg.body, msg.headers))

        good = json.dumps({"Records": [record("a%2Fone.csv"), record("b%2Funbound.csv")]}).encode()
        async with TestKafkaBroker(broker) as br:
            await br.publish(good, cfg.object_topic)
            await br.publish(good, cfg.object_topic)  # redelivered
            await br.publish(b"{truncated", cfg.object_topic)
            await br.publish(b" " * 300_000 + good, cfg.object_topic)  # valid JSON, but oversized
        assert (stats.created, stats.duplicates, stats.unrouted, stats.dead) == (1, 1, 2, 2)
        assert dead[0][0] == b"{truncated" and "not JSON" in dead[0][1]["pravah-reason"]
        assert "payload of 300,313 bytes" in dead[1][1]["pravah-reason"] and "over the 262,144-byte limit" in dead[1][1]["pravah-reason"]
        await eng.dispose()

    anyio.run(go)
