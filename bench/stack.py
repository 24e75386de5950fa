"""End-to-end benchmarks on the real services (MinIO + Kafka + PostgreSQL on loopback).

    python bench/stack.py [--only floor,latency,isolation,ingest,api] [--files 300] [--burst 1000] [--replay 100000] ...

0. floor: on a MinIO of its own, boto3 PUT → object event → a bare consumer, MinIO publishing
   directly and through its queue store (p50/p99, events/s of a burst); then Pravah's upload →
   completion event in its low-latency mode (direct publishing + the reconcile sweep), its own
   share (object event → completion event) split into stages, and as a ratio to the floor.
1. latency: the same on the stack's MinIO (queue store): upload --files small CSVs one by one (boto3) and time each from the end of its PUT upload --files small CSVs one by one (boto3) and time each from the end of its PUT
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
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "scripts"))

import stack as services  # noqa: E402
from common import PRAVAH, free_port, pct, serve, stop, wait_http  # noqa: E402
from floor import BareConsumer, PrivateMinio, cpu_seconds, create_topics, measure, pids_of, put_burst, put_one_by_one, row, skip_to_end  # noqa: E402

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


class CompletionListener(BareConsumer):
    """Records when each object event (MinIO → Kafka) and each completion event arrives, by
    bucket/key, from a consumer group of its own: (wall clock at arrival, the record's own
    timestamp), and each completion event's job id."""

    def __init__(self, env: dict[str, str]):
        super().__init__(env["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"], ["pravah.jobs.succeeded", env.get("PRAVAH_KAFKA__OBJECT_TOPIC", "pravah.objects")])
        self.announced: dict[str, tuple[float, float]] = {}
        self.jobs: dict[str, str] = {}

    def on_record(self, m, t: float) -> None:
        if m.topic == "pravah.jobs.succeeded":
            ev = json.loads(m.value)
            if ev["subject"] not in self.arrived:
                self.arrived[ev["subject"]] = (t, m.timestamp / 1000)
                self.jobs[ev["subject"]] = ev["data"]["job_id"]
        elif m.key is not None:
            self.announced.setdefault(m.key.decode(), (t, m.timestamp / 1000))


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def stages(env: dict[str, str], listener: CompletionListener, keys: list[str]) -> list[str]:
    """Where each job's time went, from timestamps already recorded: the object event's Kafka
    timestamp (MinIO's), the job row (ingest), its RUNNING status event (claim), finished_at
    (worker), the completion event's Kafka timestamp (the relay's producer, at send) and its
    arrival here."""
    db = env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]
    ids = [listener.jobs[k] for k in keys if k in listener.jobs and k in listener.announced]
    if not ids:
        return []
    got = services.psql(f"""
        SELECT j.bucket || '/' || j.key, extract(epoch FROM j.created_at), extract(epoch FROM r.at), extract(epoch FROM j.finished_at),
               (j.report->>'duration_ms')::float
        FROM jobs j
        JOIN LATERAL (SELECT min(at) AS at FROM job_events e WHERE e.job_id = j.id AND e.kind = 'status'
                      AND e.data->>'status' = 'RUNNING') r ON true
        WHERE j.id IN ({",".join(f"'{i}'" for i in ids)})""", db)
    spans: dict[str, list[float]] = {}
    names = ["object event (MinIO's timestamp) → job row (ingest)", "job row → claimed (commit, wake-up, claim)",
             "claimed → finished (run: S3 GET, engine, S3 PUT, registry)", "… of which the engine's own duration_ms",
             "finished → completion event's timestamp (commit, relay wake-up, outbox read, send)",
             "completion event's timestamp → arrival at a consumer (fetch)"]
    for line in got.splitlines():
        key, created, claimed, finished, engine_ms = line.split("|")
        obj_ts = listener.announced[key][1]
        arrival, done_ts = listener.arrived[key]
        vals = [float(created) - obj_ts, float(claimed) - float(created), float(finished) - float(claimed), float(engine_ms) / 1000,
                done_ts - float(finished), arrival - done_ts]
        for n, v in zip(names, vals, strict=True):
            spans.setdefault(n, []).append(v * 1000)
    return [f"| … stage: {n} | p50 {pct(v, 50):.1f} ms · p95 {pct(v, 95):.1f} ms · p99 {pct(v, 99):.1f} ms | — |" for n, v in spans.items()]


def bench_latency(env: dict[str, str], files: int, burst: int, logs: Path, s3=services.s3_client, mode: str = "queue_dir store, replayed every 3 s",
                  roles: tuple[str, ...] = ("api,ingest,relay", "worker"), minio_pid: int | None = None) -> list[str]:
    # Several processes without the API on one machine: no ops port each (they would share 9100).
    procs = [serve(env if "api" in role else {**env, "PRAVAH_OPS__PORT": "0"}, role, logs / f"{mode.split()[0]}-{role.replace(',', '-')}-{n}.log")
             for n, role in enumerate(roles)]
    listener = CompletionListener(env)
    try:
        wait_http(f"http://127.0.0.1:{env['PRAVAH_API__PORT']}/readyz")
        listener.start()
        listener.ready.wait(60)
        client = s3()
        for i in range(5):  # warm-up: connections, first job, topic metadata
            client.put_object(Bucket=IN, Key=f"up/warm-{i}.csv", Body=CSV)
        listener.wait_for([f"{IN}/up/warm-{i}.csv" for i in range(5)], 30)
        time.sleep(1)
        sent = put_one_by_one(client, IN, files, 0.2, "up/")  # ~4 uploads/s: latency, not saturation
        listener.wait_for(list(sent), 120)
        lat = [(listener.arrived[k][0] - t) * 1000 for k, t in sent.items() if k in listener.arrived]
        minio = [(listener.announced[k][0] - t) * 1000 for k, t in sent.items() if k in listener.announced]
        ours = [(listener.arrived[k][0] - listener.announced[k][0]) * 1000 for k in sent if k in listener.arrived and k in listener.announced]
        breakdown = stages(env, listener, list(sent))
        # Sustained: a burst of uploads from 4 threads, first PUT to last completion event, and
        # the CPU each party spent meanwhile (per job: what saturates first on 2 cores).
        parties: dict[str, list[int]] = {}
        for role, p in zip(roles, procs, strict=True):
            parties.setdefault(role, []).append(p.pid)
        parties |= {
            "PostgreSQL (all backends)": pids_of("postgres"), "Kafka": [int((services.STATE / "kafka.pid").read_text())],
            "MinIO": [minio_pid or int((services.STATE / "minio.pid").read_text())]}
        before = {k: cpu_seconds(v) for k, v in parties.items()} | {"load generator (boto3 PUTs, this bench)": own_cpu()}
        keys, t1, t2 = put_burst([s3() for _ in range(4)], IN, burst, "up/burst/")
        listener.wait_for(keys, 300)
        done = [listener.arrived[k][0] for k in keys if k in listener.arrived]
        rate = len(done) / (max(done) - t1) if done else 0.0
        after = {k: cpu_seconds(v) for k, v in parties.items()} | {"load generator (boto3 PUTs, this bench)": own_cpu()}
        cpu = " · ".join(f"{k} {(after[k] - before[k]) * 1000 / max(1, len(done)):.1f}" for k in after)
        total = sum(after[k] - before[k] for k in after) * 1000 / max(1, len(done))
    finally:
        listener.stopping.set()
        stop(*procs)
    missing = files - len(lat)
    return [
        f"| upload → completion event ({mode}), {len(lat)} files one at a time | p50 {pct(lat, 50):.0f} ms · p95 {pct(lat, 95):.0f} ms · "
        f"p99 {pct(lat, 99):.0f} ms · max {max(lat):.0f} ms{f' · {missing} missing' if missing else ''} | "
        f"{'p50 < 50 ms, p99 < 250 ms' if 'sweep' in mode else '—'} |",
        f"| … of which MinIO: PUT returned → object event at a consumer | p50 {pct(minio, 50):.1f} ms · "
        f"p95 {pct(minio, 95):.1f} ms · p99 {pct(minio, 99):.1f} ms | — |",
        f"| … of which Pravah: object event at a consumer → completion event at a consumer | p50 {pct(ours, 50):.1f} ms · "
        f"p95 {pct(ours, 95):.1f} ms · p99 {pct(ours, 99):.1f} ms | p50 < 30 ms, p99 < 100 ms |",
        *breakdown,
        f"| sustained: {len(keys)} uploads from 4 threads ({burst / (t2 - t1):.0f} PUTs/s), first PUT → last event | {rate:.0f} jobs/s "
        f"({' + '.join(roles)}){f', {len(keys) - len(done)} missing' if len(done) < len(keys) else ''} | ≥ 200 jobs/s |",
        f"| … CPU per job during the burst, ms | {cpu} · all {total:.1f} (2 cores: {2000 / total:.0f} jobs/s if nothing else ran) | — |",
    ], (pct(ours, 50), pct(ours, 99))


SCALED = ("api,relay", "ingest", "ingest", "worker", "worker", "worker")


def bench_floor(env: dict[str, str], files: int, burst: int, logs: Path, db_base: str, scale: bool = False) -> list[str]:
    """The floor (direct and queue store) and Pravah in its low-latency mode (direct publishing
    plus the reconcile sweep), on a MinIO of the bench's own, in one run."""
    kafka = env["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"]
    topics = {"DIRECT": (f"bench.floor-direct-{RUN}", False), "QUEUED": (f"bench.floor-queued-{RUN}", True),
              "PRAVAH": (f"bench.objects-direct-{RUN}", False)}
    create_topics(kafka, [t for t, _ in topics.values()])
    minio = PrivateMinio(kafka, topics, logs / "minio")
    minio.start()
    rows: list[str] = []
    db = f"{db_base}_ll"
    services.psql(f"CREATE DATABASE {db}")
    try:
        minio.bucket_to(f"floor-direct-{RUN}", "DIRECT")
        minio.bucket_to(f"floor-queued-{RUN}", "QUEUED")
        bare = BareConsumer(kafka, [topics["DIRECT"][0], topics["QUEUED"][0]])
        bare.start()
        bare.ready.wait(60)
        direct = measure(minio, bare, f"floor-direct-{RUN}", files, burst, 0.05)
        queued = measure(minio, bare, f"floor-queued-{RUN}", files, burst, 0.05)
        bare.stopping.set()
        rows += [row("MinIO publishing directly", direct), row("through MinIO's queue store (replayed every 3 s)", queued)]
        ll = {**env, **minio.settings("PRAVAH"), "PRAVAH_DATABASE_URL": env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{db}",
              "PRAVAH_BATCH__RECONCILE_SECONDS": "60", "PRAVAH_KAFKA__GROUP_ID": f"bench-ll-{RUN}"}
        subprocess.run([str(PRAVAH), "apply", str(logs / "pipelines.yaml")], env=ll, check=True, capture_output=True)
        got, (p50, p99) = bench_latency(ll, files, burst, logs, minio.client, "direct publishing + reconcile sweep every 60 s",
                                        minio_pid=minio.proc.pid)
        f50, f99 = pct(direct["lat"], 50), pct(direct["lat"], 99)  # type: ignore[arg-type]
        rows += got + [f"| Pravah's own share as a ratio to the direct floor (same run) | p50 {p50 / f50:.1f}× ({p50:.1f} / {f50:.1f} ms) · "
                       f"p99 {p99 / f99:.1f}× ({p99:.1f} / {f99:.1f} ms) | — |"]
        if scale:  # the capacity model's check: two ingest and three worker processes, a fresh database, no sweep
            sdb = f"{db}_scaled"
            services.psql(f"CREATE DATABASE {sdb}")
            try:
                sc = {**ll, "PRAVAH_DATABASE_URL": ll["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{sdb}", "PRAVAH_BATCH__RECONCILE_SECONDS": "0",
                      "PRAVAH_KAFKA__GROUP_ID": f"bench-scaled-{RUN}"}
                subprocess.run([str(PRAVAH), "apply", str(logs / "pipelines.yaml")], env=sc, check=True, capture_output=True)
                skip_to_end(kafka, sc["PRAVAH_KAFKA__OBJECT_TOPIC"], sc["PRAVAH_KAFKA__GROUP_ID"])  # not the first run's events again
                scaled, _ = bench_latency(sc, files, burst, logs, minio.client, "direct publishing, 2 ingest + 3 worker processes",
                                          roles=SCALED, minio_pid=minio.proc.pid)
                rows += scaled
            finally:
                services.psql(f"DROP DATABASE IF EXISTS {sdb} WITH (FORCE)")
    finally:
        minio.stop()
        services.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    return rows


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
    ap.add_argument("--burst", type=int, default=1000, help="uploads of the sustained-rate burst")
    ap.add_argument("--replay", type=int, default=100_000)
    ap.add_argument("--api-rows", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--isolation-jobs", type=int, default=100)
    ap.add_argument("--flood", type=int, default=200)
    ap.add_argument("--only", default="floor,latency,isolation,ingest,api")
    ap.add_argument("--out", type=Path, default=HERE / "results-stack.md", help="the run's table becomes its first section; earlier ones stay")
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
        if "floor" in only:
            rows += bench_floor(env, a.files, a.burst, logs, db, scale="scale" in only)
        if "latency" in only:
            rows += bench_latency(env, a.files, a.burst, logs)[0]
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
            f"Command: `python bench/stack.py --only {a.only} --files {a.files} --burst {a.burst} --replay {a.replay} "
            f"--api-rows {a.api_rows} --clients {a.clients} --seconds {a.seconds:.0f}`", ""]
    table = "\n".join(head + rows)
    print(table)
    record(a.out, table)


def record(out: Path, table: str) -> None:
    """This run's table as the first dated section of `out`, after its introduction: the
    earlier runs and their write-ups stay below it."""
    text = out.read_text() if out.exists() else "# End-to-end results (real services)\n\n"
    at = text.find("\n## ")
    at = len(text) if at < 0 else at + 1
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.write_text(text[:at] + f"## Run of {stamp}\n\n{table}\n\n" + text[at:])


if __name__ == "__main__":
    main()
