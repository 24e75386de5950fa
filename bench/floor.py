"""The floor of the event path, for bench/stack.py: boto3 PUT → MinIO's object event on Kafka →
a bare consumer, with MinIO publishing directly and through its queue store, on a MinIO of the
bench's own (the stack's MinIO has one target, with a queue store, set by its environment).

Kafka targets of the private MinIO (MINIO_NOTIFY_KAFKA_*_ID, one topic each): DIRECT and QUEUED
for the floor, PRAVAH (direct) for Pravah's low-latency mode in the same run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import stack as services  # noqa: E402
from common import free_port, pct  # noqa: E402

BODY = b"order_id,region,qty\n" + b"".join(f"{i},EU,{i % 7}\n".encode() for i in range(100))


class PrivateMinio:
    """A MinIO on a free port whose Kafka targets come from its environment: `targets` maps a
    target id to (topic, queued)."""

    def __init__(self, kafka: str, targets: dict[str, tuple[str, bool]], home: Path):
        self.kafka, self.targets, self.home = kafka, targets, home
        self.endpoint = f"http://127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINIO_")} | {
            "MINIO_ROOT_USER": services.MINIO_USER, "MINIO_ROOT_PASSWORD": services.MINIO_PASSWORD,
            "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"}
        for tid, (topic, queued) in self.targets.items():
            env |= {f"MINIO_NOTIFY_KAFKA_ENABLE_{tid}": "on", f"MINIO_NOTIFY_KAFKA_BROKERS_{tid}": self.kafka,
                    f"MINIO_NOTIFY_KAFKA_TOPIC_{tid}": topic}
            if queued:
                (self.home / f"queue-{tid}").mkdir(parents=True, exist_ok=True)
                env |= {f"MINIO_NOTIFY_KAFKA_QUEUE_DIR_{tid}": str(self.home / f"queue-{tid}"),
                        f"MINIO_NOTIFY_KAFKA_QUEUE_LIMIT_{tid}": "1000000"}
        with (self.home / "minio.log").open("ab") as log:
            self.proc = subprocess.Popen([str(services.minio_bin()), "server", str(self.home / "data"), "--quiet",
                                          "--address", self.endpoint.removeprefix("http://")], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/minio/health/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private MinIO did not start; see {self.home / 'minio.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            services.stop(self.proc)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=services.MINIO_USER,
                            aws_secret_access_key=services.MINIO_PASSWORD, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))

    def bucket_to(self, bucket: str, target: str) -> None:
        """Make `bucket`, its ObjectCreated events going to `target`."""
        c = self.client()
        c.create_bucket(Bucket=bucket)
        c.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": f"arn:minio:sqs::{target}:kafka", "Events": ["s3:ObjectCreated:*"]}]})

    def settings(self, target: str) -> dict[str, str]:
        """PRAVAH_* settings pointing Pravah at this MinIO and its target `target`."""
        return {"PRAVAH_S3__ENDPOINT": self.endpoint, "PRAVAH_S3__ACCESS_KEY": services.MINIO_USER,
                "PRAVAH_S3__SECRET_KEY": services.MINIO_PASSWORD, "PRAVAH_S3__NOTIFY_ARN": f"arn:minio:sqs::{target}:kafka",
                "PRAVAH_KAFKA__OBJECT_TOPIC": self.targets[target][0]}


def create_topics(kafka: str, topics: list[str], partitions: int = 4) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    async def go() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
        finally:
            await admin.close()

    asyncio.run(go())


def skip_to_end(kafka: str, topic: str, group: str, partitions: int = 4) -> None:
    """Commit `group`'s offsets at the end of `topic` (made by create_topics), so a new ingest group reads only what comes next."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def go() -> None:
        c = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
        await c.start()
        try:
            parts = [TopicPartition(topic, p) for p in range(partitions)]
            ends = await c.end_offsets(parts)
            c.assign(parts)
            await c.commit({tp: off for tp, off in ends.items()})
        finally:
            await c.stop()

    asyncio.run(go())


class BareConsumer(threading.Thread):
    """aiokafka, its own group, from the end of `topics`: when each key's first record arrives
    (wall clock), and the record's own timestamp (the producer's CreateTime)."""

    def __init__(self, kafka: str, topics: list[str]):
        super().__init__(daemon=True)
        self.kafka, self.topics = kafka, topics
        self.arrived: dict[str, tuple[float, float]] = {}
        self.ready, self.stopping = threading.Event(), threading.Event()

    def run(self) -> None:
        asyncio.run(self._go())

    async def _go(self) -> None:
        from aiokafka import AIOKafkaConsumer

        c = AIOKafkaConsumer(*self.topics, bootstrap_servers=self.kafka, group_id=f"bench-bare-{uuid.uuid4().hex}",
                             auto_offset_reset="latest", enable_auto_commit=False)
        await c.start()
        try:
            while len({tp.topic for tp in c.assignment()}) < len(self.topics):
                await c.getmany(timeout_ms=100)
            for tp in c.assignment():
                await c.position(tp)  # the end, fixed now: nothing PUT from here on is skipped
            self.ready.set()
            while not self.stopping.is_set():
                for msgs in (await c.getmany(timeout_ms=100)).values():
                    t = time.time()
                    for m in msgs:
                        self.on_record(m, t)
        finally:
            await c.stop()

    def on_record(self, m, t: float) -> None:
        if m.key is not None:
            self.arrived.setdefault(m.key.decode(), (t, m.timestamp / 1000))

    def wait_for(self, keys: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(k in self.arrived for k in keys):
            time.sleep(0.02)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes `pids` have used so far (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def pids_of(pattern: str) -> list[int]:
    """Processes whose command line contains `pattern` (PostgreSQL's backends, say)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if pattern in (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def put_one_by_one(client, bucket: str, n: int, gap: float, prefix: str = "one/") -> dict[str, float]:
    """PUT `n` small objects, `gap` seconds apart; when each PUT returned (wall clock), by bucket/key."""
    sent = {}
    for i in range(n):
        key = f"{prefix}f{i:05d}.csv"
        client.put_object(Bucket=bucket, Key=key, Body=BODY)
        sent[f"{bucket}/{key}"] = time.time()
        time.sleep(gap)
    return sent


def put_burst(clients: list, bucket: str, n: int, prefix: str = "burst/") -> tuple[list[str], float, float]:
    """PUT `n` small objects from one thread per client, as fast as they go; (the keys, when the
    first PUT began, when the last returned)."""
    keys = [f"{prefix}b{i:05d}.csv" for i in range(n)]
    lanes = len(clients)

    def upload(lane: int) -> None:
        for k in keys[lane::lanes]:
            clients[lane].put_object(Bucket=bucket, Key=k, Body=BODY)

    t0 = time.time()
    threads = [threading.Thread(target=upload, args=(n,)) for n in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [f"{bucket}/{k}" for k in keys], t0, time.time()


def measure(minio: PrivateMinio, consumer: BareConsumer, bucket: str, n: int, burst: int, gap: float) -> dict[str, object]:
    """One floor: latencies of `n` PUTs one by one (end of PUT → arrival), then events/s of a
    `burst` of PUTs from 4 threads (first PUT → last arrival)."""
    client = minio.client()
    for i in range(3):  # warm-up: connections, the target's producer, topic metadata
        client.put_object(Bucket=bucket, Key=f"warm/{i}.csv", Body=BODY)
    consumer.wait_for([f"{bucket}/warm/{i}.csv" for i in range(3)], 30)
    sent = put_one_by_one(client, bucket, n, gap)
    consumer.wait_for(list(sent), 60)
    lat = [(consumer.arrived[k][0] - t) * 1000 for k, t in sent.items() if k in consumer.arrived]
    keys, t0, t1 = put_burst([minio.client() for _ in range(4)], bucket, burst)
    consumer.wait_for(keys, 120)
    done = [consumer.arrived[k][0] for k in keys if k in consumer.arrived]
    return {"lat": lat, "missing": n - len(lat), "rate": len(done) / (max(done) - t0) if done else 0.0,
            "put_rate": burst / (t1 - t0), "burst_missing": burst - len(done)}


def row(what: str, f: dict[str, object]) -> str:
    lat: list[float] = f["lat"]  # type: ignore[assignment]
    missing = f" · {f['missing']} missing" if f["missing"] else ""
    lost = f", {f['burst_missing']} missing" if f["burst_missing"] else ""
    return (f"| floor, {what}: PUT returned → object event at a bare consumer, {len(lat)} PUTs one at a time | "
            f"p50 {pct(lat, 50):.1f} ms · p95 {pct(lat, 95):.1f} ms · p99 {pct(lat, 99):.1f} ms · max {max(lat):.0f} ms{missing}; "
            f"burst from 4 threads: {f['rate']:.0f} events/s (PUTs {f['put_rate']:.0f}/s{lost}) | — |")
