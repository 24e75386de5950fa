"""Every role in a process of its own on the real services, as on Kubernetes: ingest, relay and
two workers answer /healthz, /readyz and /metrics (their own counters) on their ops ports, the
API's metrics port reports the workers and dead letters from their tables, readiness follows
PostgreSQL, and a worker stopped mid-job hands the job to the other worker at once.

The module has an object topic of its own (records are produced as MinIO would send them), so
nothing it does reaches the ingest of another test session."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import RUN, Procs, drop_bucket, free_port, own_database, produce, psql, s3_client, wait_for

IN, OUT = f"roles-in-{RUN}", f"roles-out-{RUN}"
TOPIC = f"pravah.objects.roles-{RUN}"
DB = f"roles_{RUN}"
LEASE = 30  # the default: a hand-back must beat it by far
PIPELINES = f"""
pipelines:
  - {{name: to-parquet, steps: [read_csv, write_parquet], output: "{OUT}/{{stem}}.parquet"}}
  - {{name: squeeze, steps: [{{zstd: {{level: 19}}}}], output: "{OUT}/slow/{{name}}.zst"}}
bindings:
  - {{bucket: {IN}, prefix: csv/, pipeline: to-parquet}}
  - {{bucket: {IN}, prefix: slow/, pipeline: squeeze}}
"""
CSV = b"order_id,region,qty\n1,EU,3\n2,US,5\n3,EU,7\n"


def upload(env: dict[str, str], key: str, body: bytes) -> None:
    """Put the object, then its ObjectCreated record on the module's topic, as MinIO would."""
    etag = s3_client().put_object(Bucket=IN, Key=key, Body=body)["ETag"].strip('"')
    rec = {"eventName": "s3:ObjectCreated:Put", "eventTime": "2026-11-23T10:00:00Z",
           "s3": {"bucket": {"name": IN}, "object": {"key": urllib.parse.quote(key), "size": len(body), "eTag": etag}}}
    produce(env, TOPIC, [json.dumps({"EventName": "s3:ObjectCreated:Put", "Key": f"{IN}/{key}", "Records": [rec]}).encode()],
            key=f"{IN}/{key}".encode())


def job(key: str) -> dict | None:
    row = psql(f"SELECT row_to_json(j) FROM (SELECT status, attempts, lease_owner, log FROM jobs WHERE key = '{key}') j", DB)
    return json.loads(row) if row else None


def up(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=10)
    except httpx.TransportError:  # not listening yet
        return None


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(url + "/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


@pytest.fixture(scope="module")
def procs(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Procs]:
    tmp = tmp_path_factory.mktemp("roles")
    with own_database(stack, DB) as url:
        metrics_port = free_port()
        env = {**os.environ, **stack, "PRAVAH_DATABASE_URL": url, "PRAVAH_KAFKA__GROUP_ID": f"roles-{RUN}",
               "PRAVAH_KAFKA__OBJECT_TOPIC": TOPIC, "PRAVAH_KAFKA__DEAD_LETTER_TOPIC": f"{TOPIC}.dlq",
               "PRAVAH_API__PORT": str(free_port()), "PRAVAH_API__METRICS_PORT": str(metrics_port),
               "PRAVAH_WORKER__CONCURRENCY": "1", "PRAVAH_WORKER__POLL_SECONDS": "0.05",
               "PRAVAH_WORKER__LEASE_SECONDS": str(LEASE), "PRAVAH_WORKER__GRACE_SECONDS": "1"}
        (tmp / "pipelines.yaml").write_text(PIPELINES)
        p = Procs(env, tmp)
        p.cli("apply", str(tmp / "pipelines.yaml"))
        p.metrics = f"http://127.0.0.1:{metrics_port}"  # type: ignore[attr-defined]
        try:
            with p.running(api="api", ingest="ingest", relay="relay", worker1="worker", worker2="worker"):
                yield p
        finally:
            for b in (IN, OUT):
                drop_bucket(b)


def test_every_role_answers_its_probes_on_its_ops_port(procs: Procs) -> None:
    expected = {"ingest": {"database", "kafka"}, "relay": {"database", "kafka"}, "worker1": {"database"}, "worker2": {"database"}}
    for name, checks in expected.items():
        base = procs.ops(name)
        alive = wait_for(lambda b=base: up(b + "/healthz"), 60, f"{name} alive")  # the API being ready says nothing of the others
        assert alive.json() == {"status": "ok"}
        ready = wait_for(lambda b=base: (r := httpx.get(b + "/readyz", timeout=10)).status_code == 200 and r, 60, f"{name} ready")
        assert ready.json() == {"ready": True, **dict.fromkeys(checks, True)}, name


def test_each_role_reports_its_own_counters_and_the_api_the_tables(procs: Procs) -> None:
    upload(procs.env, "csv/orders.csv", CSV)
    produce(procs.env, TOPIC, [b"{not an event"])
    wait_for(lambda: (j := job("csv/orders.csv")) and j["status"] == "SUCCEEDED", 60, "the job to succeed")

    ingest = wait_for(lambda: (m := scrape(procs.ops("ingest"))).get(("pravah_ingest_events_total", (("outcome", "dead"),))) and m,
                      30, "ingest to count the dead letter")
    assert ingest[("pravah_ingest_events_total", (("outcome", "created"),))] == 1
    assert ingest[("pravah_ingest_events_total", (("outcome", "dead"),))] == 1
    assert any(name == "pravah_ingest_lag_messages" for name, _ in ingest)

    workers = [scrape(procs.ops(n)) for n in ("worker1", "worker2")]
    ran = [w for w in workers if w.get(("pravah_job_duration_seconds_count", (("outcome", "ok"), ("pipeline", "to-parquet"))))]
    assert len(ran) == 1, "exactly one of the workers ran the job and counts it"
    assert ran[0][("pravah_bytes_processed_total", (("pipeline", "to-parquet"),))] == len(CSV)

    relay = wait_for(lambda: (m := scrape(procs.ops("relay")))[("pravah_events_published_total", ())] >= 1 and m, 30, "the relay to publish")
    assert relay[("pravah_events_published_total", ())] == 1

    api = scrape(procs.metrics)  # type: ignore[attr-defined]
    assert api[("pravah_workers", ())] == 2
    assert api[("pravah_dead_letters", (("window", "15m"),))] == 1
    assert api[("pravah_jobs", (("status", "SUCCEEDED"),))] == 1
    assert ("pravah_jobs", (("status", "SUCCEEDED"),)) not in workers[0]  # no database numbers on a worker's port


def test_a_stopped_worker_hands_its_job_to_the_other_at_once(procs: Procs) -> None:
    upload(procs.env, "slow/noise.txt", base64.b64encode(os.urandom(45_000_000)))  # about 20 s of zstd -19
    running = wait_for(lambda: (j := job("slow/noise.txt")) and j["status"] == "RUNNING" and j, 60, "the slow job to run")
    holder = next(n for n in ("worker1", "worker2") if f"-{procs.procs[n].pid}-" in running["lease_owner"])
    other = ({"worker1", "worker2"} - {holder}).pop()
    time.sleep(1.0)  # into the engine run

    t = time.monotonic()
    procs.procs[holder].send_signal(signal.SIGTERM)
    assert procs.procs[holder].wait(15) == 0
    stopped = time.monotonic() - t
    taken = wait_for(lambda: (j := job("slow/noise.txt")) and j["status"] == "RUNNING" and f"-{procs.procs[other].pid}-" in (j["lease_owner"] or "")
                     and j, LEASE, "the other worker to take the job")
    waited = time.monotonic() - t
    assert stopped < 5, f"the worker took {stopped:.1f} s to stop with a 1 s grace"
    assert waited < 10, f"taken over {waited:.1f} s after SIGTERM: that is the lease ({LEASE} s), not a hand-back"
    assert taken["attempts"] == 1 and any("handed back" in line for line in taken["log"]), taken
    assert wait_for(lambda: scrape(procs.metrics)[("pravah_workers", ())] == 1, 15, "the stopped worker's heartbeat row to go")  # type: ignore[attr-defined]


def test_readiness_follows_the_database(procs: Procs) -> None:
    names = ("ingest", "relay", *(n for n in ("worker1", "worker2") if procs.procs[n].poll() is None))
    psql(f"ALTER DATABASE {DB} WITH ALLOW_CONNECTIONS false")
    try:
        psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{DB}'")
        for name in names:
            r = wait_for(lambda n=name: (r := httpx.get(procs.ops(n) + "/readyz", timeout=10)).status_code == 503 and r, 30, f"{name} unready")
            assert r.json()["database"] is False and r.json()["ready"] is False, name
            assert httpx.get(procs.ops(name) + "/healthz").status_code == 200  # alive: a restart would not bring the database back
    finally:
        psql(f"ALTER DATABASE {DB} WITH ALLOW_CONNECTIONS true")
    for name in names:
        wait_for(lambda n=name: httpx.get(procs.ops(n) + "/readyz", timeout=10).status_code == 200, 30, f"{name} ready again")
