"""Chaos run on the real stack: upload N files while kill -9ing ingest twice and a worker twice,
restarting Kafka once and PostgreSQL once, at random (seeded) moments. Then check the promise:
exactly N succeeded jobs, every output present and byte-correct, nothing stuck, one job per
object version, every job with a completion event (duplicates counted: they share the id).

    python tests/services/chaos.py [--files 2000] [--seed N]     (make chaos)

`tests/services/test_chaos.py` runs it small as part of `make test`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]

import stack as services  # noqa: E402
from services.conftest import PRAVAH, free_port, psql, read_topic, s3_client  # noqa: E402

FAULTS = ["kill ingest", "kill ingest", "kill worker", "kill worker", "restart kafka", "restart postgres"]


@dataclass
class Report:
    files: int
    seed: int
    succeeded: int = 0
    failed: int = 0
    unfinished: int = 0
    jobs_per_key_max: int = 0
    outputs_correct: int = 0
    events: int = 0
    events_distinct: int = 0
    jobs_without_event: int = 0
    seconds: float = 0.0
    died: list[str] = field(default_factory=list)  # processes that exited without being killed
    # fault, at (s from start), first job created after it (s), first job finished after it (s)
    recoveries: list[tuple[str, float, float, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.succeeded == self.files and self.failed == self.unfinished == 0 and self.jobs_per_key_max == 1
                and self.outputs_correct == self.files and self.jobs_without_event == 0 and not self.died)

    def table(self) -> str:
        rows = [
            f"Chaos run: {self.files} files, seed {self.seed}, {self.seconds:.0f} s — {'PASS' if self.ok else 'FAIL'}",
            f"  jobs: {self.succeeded} succeeded, {self.failed} failed, {self.unfinished} unfinished; max jobs per object {self.jobs_per_key_max}",
            f"  outputs byte-correct: {self.outputs_correct}/{self.files}",
            f"  completion events: {self.events} published for {self.events_distinct} jobs "
            f"({self.events - self.events_distinct} duplicates, same ids); jobs without an event: {self.jobs_without_event}",
            f"  processes that died by themselves: {', '.join(self.died) or 'none'}",
        ]
        for name, at, created, finished in self.recoveries:
            rows.append(f"  {name:17} at {at:5.1f} s → next job created {created:5.1f} s later, next job finished {finished:5.1f} s later")
        return "\n".join(rows)


def body(i: int) -> bytes:
    return f"file {i} line\n".encode() * (1 + i % 200)


class Cluster:
    """The Pravah processes of the run, restartable one by one."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self.procs = env, logs, {}
        self.ops_ports: dict[str, int] = {}  # each process's probes and /metrics, the same port after a restart

    def start(self, name: str, role: str) -> None:
        env = {**self.env, "PRAVAH_OPS__PORT": str(self.ops_ports.setdefault(name, free_port()))}
        with (self.logs / f"{name}.log").open("ab") as log:
            self.procs[name] = (subprocess.Popen([str(PRAVAH), "serve", role], env=env, stdout=log, stderr=log), role)

    def kill9(self, name: str) -> None:
        proc, role = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.start(name, role)  # as a supervisor would

    def died(self) -> list[str]:
        return [name for name, (proc, _) in self.procs.items() if proc.poll() is not None]

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run(stack_env: dict[str, str], pg_url: str, files: int, seed: int, logs: Path, window: float | None = None,
        schedule: list[tuple[float, str]] | None = None) -> Report:
    """The chaos run; `schedule` ((seconds from start, fault), sorted) replaces the seeded random one (bench/faults.py)."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    bucket_in, bucket_out = f"chaos-in-{tag}", f"chaos-out-{tag}"
    db = pg_url.rsplit("/", 1)[1]
    env = {
        **os.environ, **stack_env, "PRAVAH_DATABASE_URL": pg_url, "PRAVAH_KAFKA__GROUP_ID": f"chaos-{tag}",
        "PRAVAH_API__PORT": "0", "PRAVAH_WORKER__LEASE_SECONDS": "4", "PRAVAH_WORKER__POLL_SECONDS": "0.2",
        "PRAVAH_WORKER__BACKOFF_SECONDS": "0.5",
    }
    (logs / "pipelines.yaml").write_text(f"""
pipelines:
  - name: chaos-gzip
    steps: [gzip]
    output: {bucket_out}/{{key}}.gz
    retries: 10
bindings:
  - {{bucket: {bucket_in}, prefix: f/, pipeline: chaos-gzip}}
""")
    subprocess.run([str(PRAVAH), "apply", str(logs / "pipelines.yaml")], env=env, check=True, capture_output=True)
    cluster = Cluster(env, logs)
    cluster.start("ingest", "ingest")
    cluster.start("worker", "worker")
    cluster.start("relay", "relay")
    report = Report(files, seed)
    window = window or max(20.0, files / 40)
    schedule = schedule or sorted(zip((rng.uniform(0.1, 0.9) * window for _ in FAULTS), FAULTS))
    t0 = time.monotonic()
    s3 = s3_client()

    def upload() -> None:
        for i in range(files):
            target = t0 + window * i / files
            time.sleep(max(0.0, target - time.monotonic()))
            for attempt in range(60):  # MinIO stays up; retries only cover a transient error
                try:
                    s3.put_object(Bucket=bucket_in, Key=f"f/{i:05d}.txt", Body=body(i))
                    break
                except Exception:
                    time.sleep(0.5)

    def first_after(column: str, ts: float) -> float | None:
        """Seconds from `ts` (epoch) to the first job of this run whose `column` is later."""
        got = psql(f"SELECT extract(epoch FROM min({column})) FROM jobs WHERE bucket = '{bucket_in}' "
                              f"AND {column} > to_timestamp({ts})", db)
        return float(got) - ts if got else None

    uploader = threading.Thread(target=upload)
    uploader.start()
    pending: list[tuple[str, float, float]] = []  # fault, at (monotonic), at (wall clock)
    try:
        for at, fault in schedule:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            wall, mono = time.time(), time.monotonic()
            kind, what = fault.split()
            if kind == "kill":
                cluster.kill9(what)
            else:
                services.restart(what)
            pending.append((fault, mono, wall))
        uploader.join()
        deadline = time.monotonic() + max(180.0, files / 5)
        while time.monotonic() < deadline:
            for fault, mono, wall in list(pending):
                try:
                    created, finished = first_after("created_at", wall), first_after("finished_at", wall)
                except services.StackError:
                    continue  # PostgreSQL is the one restarting
                if created is not None and finished is not None:
                    report.recoveries.append((fault, mono - t0, created, finished))
                    pending.remove((fault, mono, wall))
            done = psql(f"SELECT count(*) FROM jobs WHERE bucket = '{bucket_in}' AND status IN ('SUCCEEDED', 'FAILED')", db)
            if int(done) >= files and not pending:
                break
            time.sleep(0.5)
        time.sleep(2)  # the relay's last events
        report.died = cluster.died()
    finally:
        cluster.stop()
    report.seconds = time.monotonic() - t0
    for fault, mono, _ in pending:
        report.recoveries.append((fault, mono - t0, float("nan"), float("nan")))
    report.recoveries.sort(key=lambda r: r[1])

    rows = psql(f"SELECT status, count(*) FROM jobs WHERE bucket = '{bucket_in}' GROUP BY status", db)
    counts = dict(line.split("|") for line in rows.splitlines() if line)
    report.succeeded, report.failed = int(counts.get("SUCCEEDED", 0)), int(counts.get("FAILED", 0))
    report.unfinished = int(counts.get("PENDING", 0)) + int(counts.get("RUNNING", 0))
    report.jobs_per_key_max = int(psql(f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM jobs WHERE bucket = '{bucket_in}' GROUP BY key) k", db))
    for i in range(files):
        try:
            out = s3.get_object(Bucket=bucket_out, Key=f"f/{i:05d}.txt.gz")["Body"].read()
            report.outputs_correct += gzip.decompress(out) == body(i)
        except Exception:
            pass
    ids = set(psql(f"SELECT id FROM jobs WHERE bucket = '{bucket_in}' AND status = 'SUCCEEDED'", db).split())
    def all_seen(records: list) -> bool:
        return ids <= {json.loads(r.value)["data"]["job_id"] for r in records}

    events = [json.loads(r.value) for r in read_topic(stack_env, "pravah.jobs.succeeded", all_seen, timeout=60)]
    mine = [e for e in events if e["data"]["job_id"] in ids]
    report.events, report.events_distinct = len(mine), len({e["id"] for e in mine})
    report.jobs_without_event = len(ids - {e["data"]["job_id"] for e in mine})
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    stack_env = services.up()
    name = f"pravah_chaos_{uuid.uuid4().hex[:6]}"
    psql(f"CREATE DATABASE {name}")
    logs = ROOT / ".stack" / name
    logs.mkdir(parents=True)
    try:
        report = run(stack_env, stack_env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}", a.files, a.seed, logs)
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(report.table())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
