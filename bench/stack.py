"""End-to-end benchmarks on the real services (MinIO + Kafka + PostgreSQL on loopback).

    python bench/stack.py [--files 300] [--replay 100000] [--api-rows 1000000] [--clients 100]

1. latency: upload --files small CSVs one by one (boto3) and time each from the end of its PUT
   to its completion event arriving on pravah.jobs.succeeded; also sustained jobs/s.
2. ingest: --replay synthetic MinIO records produced to a topic of their own, then one
   `pravah serve ingest` reads them into jobs; events/s from its first to its last job.
3. api: --api-rows job rows in PostgreSQL, --clients concurrent clients on GET /v1/jobs
   pages and GET /v1/jobs/{id} for --seconds; latency percentiles and requests/s.
Everything runs on this machine's 2 cores, load generators included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "scripts"))

import stack as services  # noqa: E402
from common import PRAVAH, free_port, pct, serve, stop, wait_http  # noqa: E402

RUN = uuid.uuid4().hex[:6]
IN, OUT = f"bench-in-{RUN}", f"bench-out-{RUN}"
PIPELINES = f"""
pipelines:
  - name: bench-parquet
    steps: [read_csv, write_parquet]
    output: {OUT}/{{stem}}.parquet
  - name: bench-fails
    steps: [gzip]
    output: "{{pipeline}}-nowhere-{RUN}/{{name}}.gz"   # a bucket that does not exist: StorageError, retried
    retries: 3
bindings:
  - {{bucket: {IN}, prefix: up/, pipeline: bench-parquet}}
  - {{bucket: {IN}, prefix: replay/, pipeline: bench-parquet}}
  - {{bucket: {IN}, prefix: good/, pipeline: bench-parquet}}
  - {{bucket: {IN}, prefix: bad/, pipeline: bench-fails}}
"""
CSV = b"order_id,region,qty\n" + b"".join(f"{i},EU,{i % 7}\n".encode() for i in range(100))


class CompletionListener(threading.Thread):
    """Records when each object event (MinIO → Kafka) and each completion event arrives, by
    bucket/key, from a consumer group of its own."""

    def __init__(self, env: dict[str, str]):
        super().__init__(daemon=True)
        self.env, self.arrived, self.ready, self.stopping = env, {}, threading.Event(), threading.Event()
        self.announced: dict[str, float] = {}

    def run(self) -> None:
        asyncio.run(self._go())

    async def _go(self) -> None:
        from aiokafka import AIOKafkaConsumer

        c = AIOKafkaConsumer("pravah.jobs.succeeded", "pravah.objects", bootstrap_servers=self.env["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"],
                             group_id=f"bench-{uuid.uuid4().hex}", auto_offset_reset="latest")
        await c.start()
        try:
            while len({tp.topic for tp in c.assignment()}) < 2:
                await c.getmany(timeout_ms=100)
            self.ready.set()
            while not self.stopping.is_set():
                for msgs in (await c.getmany(timeout_ms=100)).values():
                    t = time.monotonic()
                    for m in msgs:
                        if m.topic == "pravah.objects":
                            self.announced.setdefault(m.key.decode(), t)
                        else:
                            self.arrived.setdefault(json.loads(m.value)["subject"], t)
        finally:
            await c.stop()


def bench_latency(env: dict[str, str], files: int, logs: Path) -> list[str]:
    front = serve(env, "api,ingest,relay", logs / "front.log")
    worker = serve(env, "worker", logs / "worker.log")
    listener = CompletionListener(env)
    try:
        wait_http(f"http://127.0.0.1:{env['PRAVAH_API__PORT']}/readyz")
        listener.start()
        listener.ready.wait(60)
        client = services.s3_client()
        for i in range(5):  # warm-up: connections, first job, topic metadata
            client.put_object(Bucket=IN, Key=f"up/warm-{i}.csv", Body=CSV)
        time.sleep(3)
        sent: dict[str, float] = {}
        for i in range(files):
            key = f"up/f{i:05d}.csv"
            client.put_object(Bucket=IN, Key=key, Body=CSV)
            sent[f"{IN}/{key}"] = time.monotonic()
            time.sleep(0.2)  # ~4 uploads/s: latency, not saturation
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(k in listener.arrived for k in sent):
            time.sleep(0.1)
        lat = [(listener.arrived[k] - t) * 1000 for k, t in sent.items() if k in listener.arrived]
        minio = [(listener.announced[k] - t) * 1000 for k, t in sent.items() if k in listener.announced]
        ours = [(listener.arrived[k] - listener.announced[k]) * 1000 for k in sent if k in listener.arrived and k in listener.announced]
        # Sustained: a burst of uploads from 4 threads, first PUT to last completion event.
        burst = {f"{IN}/up/b{i:05d}.csv": i for i in range(files)}

        def upload(part: list[str]) -> None:
            c = services.s3_client()
            for k in part:
                c.put_object(Bucket=IN, Key=k.split("/", 1)[1], Body=CSV)

        keys = list(burst)
        t1 = time.monotonic()
        threads = [threading.Thread(target=upload, args=(keys[n::4],)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not all(k in listener.arrived for k in keys):
            time.sleep(0.1)
        done = [listener.arrived[k] for k in keys if k in listener.arrived]
        rate = len(done) / (max(done) - t1) if done else 0.0
    finally:
        listener.stopping.set()
        stop(front, worker)
    missing = files - len(lat)
    return [
        f"| upload → completion event, {len(lat)} files one at a time | p50 {pct(lat, 50):.0f} ms · p95 {pct(lat, 95):.0f} ms · "
        f"p99 {pct(lat, 99):.0f} ms · max {max(lat):.0f} ms{f' · {missing} missing' if missing else ''} | p50 < 250 ms, p99 < 1 s |",
        f"| … of which MinIO: PUT → object event on Kafka (queue_dir store, replayed every 3 s) | p50 {pct(minio, 50):.0f} ms · "
        f"p95 {pct(minio, 95):.0f} ms · p99 {pct(minio, 99):.0f} ms | — |",
        f"| … of which Pravah: object event on Kafka → completion event on Kafka | p50 {pct(ours, 50):.0f} ms · "
        f"p95 {pct(ours, 95):.0f} ms · p99 {pct(ours, 99):.0f} ms | — |",
        f"| sustained: {len(keys)} uploads from 4 threads, first PUT → last event | {rate:.0f} jobs/s (1 worker process, 2 slots) | — |",
    ]


def bench_isolation(env: dict[str, str], n: int, flood: int, logs: Path) -> list[str]:
    """Latency of a healthy pipeline (job created → finished) alone, then with a flood of jobs
    of a pipeline that always fails with a retried error."""
    ienv = {**env, "PRAVAH_WORKER__BACKOFF_SECONDS": "0.5"}
    front = serve(ienv, "api,ingest,relay", logs / "iso-front.log")
    worker = serve(ienv, "worker", logs / "iso-worker.log")
    db = env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]
    client = services.s3_client()

    def latencies(prefix: str, count: int) -> list[float]:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            got = services.psql(f"SELECT extract(epoch FROM finished_at - created_at) * 1000 FROM jobs WHERE key LIKE '{prefix}%' "
                            "AND status = 'SUCCEEDED'", db).split()
            if len(got) >= count:
                return [float(x) for x in got]
            time.sleep(0.5)
        raise RuntimeError(f"{prefix}: not all jobs finished")

    def good(prefix: str) -> None:
        for i in range(n):
            client.put_object(Bucket=IN, Key=f"{prefix}{i:04d}.csv", Body=CSV)
            time.sleep(0.1)

    try:
        wait_http(f"http://127.0.0.1:{env['PRAVAH_API__PORT']}/readyz")
        good("good/alone/")
        alone = latencies("good/alone/", n)
        for i in range(flood):
            client.put_object(Bucket=IN, Key=f"bad/{i:04d}.txt", Body=b"x\n")
        good("good/flood/")
        flooded = latencies("good/flood/", n)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            failed = int(services.psql("SELECT count(*) FROM jobs WHERE key LIKE 'bad/%' AND status = 'FAILED'", db) or 0)
            if failed >= flood:
                break
            time.sleep(0.5)
        attempts = services.psql("SELECT min(attempts), max(attempts) FROM jobs WHERE key LIKE 'bad/%'", db)
    finally:
        stop(front, worker)
    return [
        f"| isolation: healthy pipeline alone, {n} jobs (created → finished) | p50 {pct(alone, 50):.0f} ms · "
        f"p95 {pct(alone, 95):.0f} ms · max {max(alone):.0f} ms | — |",
        f"| … with {flood} jobs of an always-failing pipeline (retries 3, StorageError) | p50 {pct(flooded, 50):.0f} ms · "
        f"p95 {pct(flooded, 95):.0f} ms · max {max(flooded):.0f} ms; failing jobs: {failed} FAILED, attempts {attempts.replace('|', '–')} | — |",
    ]


def bench_ingest(env: dict[str, str], n: int, logs: Path) -> list[str]:
    from aiokafka import AIOKafkaProducer

    topic = f"pravah.bench.replay-{RUN}"

    async def produce() -> None:
        p = AIOKafkaProducer(bootstrap_servers=env["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"], acks="all", linger_ms=20,
                             max_batch_size=1 << 20)
        await p.start()
        try:
            futs = []
            for i in range(n):
                rec = {"eventName": "s3:ObjectCreated:Put", "eventTime": "2026-11-22T10:00:00Z", "s3": {
                    "bucket": {"name": IN}, "object": {"key": f"replay%2Fr{i:07d}.csv", "size": 100, "eTag": f"e{i}"}}}
                futs.append(await p.send(topic, json.dumps({"EventName": "s3:ObjectCreated:Put", "Records": [rec]}).encode(),
                                         key=f"{IN}/replay/r{i}".encode()))
            await asyncio.gather(*futs)
        finally:
            await p.stop()

    asyncio.run(produce())
    ienv = {**env, "PRAVAH_KAFKA__OBJECT_TOPIC": topic, "PRAVAH_KAFKA__GROUP_ID": f"bench-replay-{RUN}"}
    t0 = time.monotonic()
    proc = serve(ienv, "ingest", logs / "ingest.log")
    db = env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]
    count = lambda: int(services.psql("SELECT count(*) FROM jobs WHERE key LIKE 'replay/%'", db))  # noqa: E731
    first = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            c = count()
            if c and first is None:
                first = (time.monotonic(), c)
            if c >= n:
                break
            time.sleep(0.25)
        end = time.monotonic()
    finally:
        stop(proc)
    got = count()
    rate = (got - first[1]) / (end - first[0]) if first and end > first[0] else 0.0
    return [f"| ingest replay: {n:,} MinIO records → jobs (batches of 500, one process) | {rate:,.0f} events/s; "
            f"{got:,} jobs; {end - t0:.1f} s incl. start-up | ≥ 2,000 events/s |"]


def bench_api(env: dict[str, str], rows: int, clients: int, seconds: float, logs: Path) -> list[str]:
    import httpx

    db = env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]
    services.psql(f"""
        INSERT INTO jobs (id, bucket, key, object_version, etag, size, pipeline, pipeline_version, status, attempts,
                          max_attempts, output_bucket, output_key, log, next_attempt_at, created_at, updated_at, finished_at)
        SELECT md5('api' || g), '{IN}', 'api/' || g || '.csv', md5(g::text), md5(g::text), 100, 'bench-parquet', 'v1',
               (ARRAY['SUCCEEDED','FAILED','PENDING'])[1 + g % 3], 1, 3, '{OUT}', 'api/' || g || '.parquet', '[]',
               now(), now() - (g || ' seconds')::interval, now(), now()
        FROM generate_series(1, {rows}) g;
        ANALYZE jobs;""", db)
    api = serve(env, "api", logs / "api.log")
    base = f"http://127.0.0.1:{env['PRAVAH_API__PORT']}"
    lat: dict[str, list[float]] = {"list": [], "get": []}
    errors = 0
    try:
        wait_http(base + "/readyz")

        async def client(n: int, stop_at: float) -> None:
            nonlocal errors
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                i = n
                while time.monotonic() < stop_at:
                    i += clients
                    kind = "list" if i % 2 else "get"
                    path = ("/v1/jobs?status=SUCCEEDED&limit=50" if kind == "list"
                            else f"/v1/jobs/{__import__('hashlib').md5(f'api{1 + i % rows}'.encode()).hexdigest()}")
                    t = time.monotonic()
                    r = await c.get(path)
                    lat[kind].append((time.monotonic() - t) * 1000)
                    errors += r.status_code != 200

        async def run() -> float:
            stop_at = time.monotonic() + seconds
            t = time.monotonic()
            await asyncio.gather(*(client(n, stop_at) for n in range(clients)))
            return time.monotonic() - t

        elapsed = asyncio.run(run())
    finally:
        stop(api)
    total = len(lat["list"]) + len(lat["get"])
    return [
        f"| API, {rows:,} job rows, {clients} concurrent clients, {seconds:.0f} s: GET /v1/jobs?status=…&limit=50 | "
        f"p50 {pct(lat['list'], 50):.0f} ms · p95 {pct(lat['list'], 95):.0f} ms · p99 {pct(lat['list'], 99):.0f} ms | — |",
        f"| same run: GET /v1/jobs/{{id}} | p50 {pct(lat['get'], 50):.0f} ms · p95 {pct(lat['get'], 95):.0f} ms · "
        f"p99 {pct(lat['get'], 99):.0f} ms; {total / elapsed:.0f} requests/s in all, {errors} errors | — |",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--replay", type=int, default=100_000)
    ap.add_argument("--api-rows", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--isolation-jobs", type=int, default=100)
    ap.add_argument("--flood", type=int, default=200)
    ap.add_argument("--only", default="latency,isolation,ingest,api")
    ap.add_argument("--out", type=Path, default=HERE / "results-stack.md")
    a = ap.parse_args()
    stack_env = services.up()
    db = f"pravah_bench_{RUN}"
    services.psql(f"CREATE DATABASE {db}")
    logs = HERE / "data" / f"stack-{RUN}"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **stack_env, "PRAVAH_DATABASE_URL": stack_env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{db}",
           "PRAVAH_KAFKA__GROUP_ID": f"bench-{RUN}", "PRAVAH_API__PORT": str(free_port())}
    (logs / "pipelines.yaml").write_text(PIPELINES)
    subprocess.run([str(PRAVAH), "apply", str(logs / "pipelines.yaml")], env=env, check=True, capture_output=True)
    rows = ["| what | result | target (BENCH.md) |", "|---|---|---|"]
    try:
        only = a.only.split(",")
        if "latency" in only:
            rows += bench_latency(env, a.files, logs)
        if "isolation" in only:
            rows += bench_isolation(env, a.isolation_jobs, a.flood, logs)
        if "ingest" in only:
            rows += bench_ingest(env, a.replay, logs)
        if "api" in only:
            rows += bench_api(env, a.api_rows, a.clients, a.seconds, logs)
    finally:
        services.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    head = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; {date.today()}; MinIO, Kafka (KRaft), PostgreSQL on "
            "127.0.0.1, started by scripts/stack.py; load generators on the same 2 cores.",
            f"Command: `python bench/stack.py --files {a.files} --replay {a.replay} --api-rows {a.api_rows} "
            f"--clients {a.clients} --seconds {a.seconds:.0f}`", ""]
    table = "\n".join(head + rows)
    print(table)
    a.out.write_text("# End-to-end results (real services)\n\n" + table + "\n")


if __name__ == "__main__":
    main()
