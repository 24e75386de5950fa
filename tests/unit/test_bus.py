"""The ingest handler's logic on FastStream's in-memory TestKafkaBroker (the real broker is
tested in tests/services): jobs created, bad payloads dead-lettered with their reason."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

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


async def ingesting(db_url: str, cfg: KafkaSettings, stats: IngestStats) -> tuple[Any, Any, KafkaBroker]:
    """DOC applied to the database and a broker with the ingest handler: (engine, sessions, broker)."""
    eng = make_engine(db_url)
    s = sessions(eng)
    async with s() as session:
        await registry.apply(session, DOC, "test")
    broker = bus.make_broker(cfg)
    bus.add_ingest(broker, cfg, s, stats)
    return eng, s, broker


def test_handler_creates_jobs_once_and_dead_letters_bad_payloads(db_url: str) -> None:
    cfg = KafkaSettings()

    async def go() -> None:
        stats = IngestStats()
        eng, _, broker = await ingesting(db_url, cfg, stats)
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


TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize("traced", [False, True])
def test_a_traceparent_header_is_carried_into_the_job_and_out_with_its_event(db_url: str, traced: bool) -> None:
    from sqlalchemy import select

    from pravah.db.models import Job
    from pravah.observe import traces
    from pravah.settings import OtelSettings

    cfg = KafkaSettings()
    if traced:
        traces.setup(OtelSettings(), "pravah-test")  # spans with ids, none exported

    async def go() -> None:
        eng, s, broker = await ingesting(db_url, cfg, IngestStats())
        sink = bus.KafkaSink(broker, cfg)
        published: list[dict] = []

        @broker.subscriber(cfg.succeeded_topic)
        async def done(body: Any, msg: bus.KafkaMessage) -> None:
            published.append(msg.headers)

        async with TestKafkaBroker(broker) as br:
            await br.publish(json.dumps({"Records": [record("a%2Ftraced.csv")]}).encode(), cfg.object_topic, headers={"traceparent": TP})
            await br.publish(json.dumps({"Records": [record("a%2Fbad-header.csv")]}).encode(), cfg.object_topic, headers={"traceparent": "nonsense"})
            await sink.publish([{"id": "j.succeeded", "type": "pravah.job.succeeded", "subject": "inbox/a/traced.csv", "traceparent": TP,
                                 "data": {"job_id": "j", "pipeline": "p"}}])
        async with s() as session:
            rows = dict((await session.execute(select(Job.key, Job.traceparent))).all())
        if traced:  # the job carries ingest's span: a child in the producer's trace; a bad header starts a trace
            assert rows["a/traced.csv"].split("-")[1] == TP.split("-")[1] and rows["a/traced.csv"] != TP
            assert traces.valid(rows["a/bad-header.csv"]) and rows["a/bad-header.csv"].split("-")[1] != TP.split("-")[1]
            assert published[0]["traceparent"].split("-")[1] == TP.split("-")[1] != published[0]["traceparent"]
        else:  # no-op spans pass the producer's context on as it came
            assert rows == {"a/traced.csv": TP, "a/bad-header.csv": None}
            assert published[0]["traceparent"] == TP
        assert published[0]["ce_id"] == "j.succeeded"
        await eng.dispose()

    try:
        anyio.run(go)
    finally:
        traces.shutdown()
