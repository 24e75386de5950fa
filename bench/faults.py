"""Latency under faults: the chaos run of tests/services/chaos.py (its processes, uploads and
checks, unchanged) with its faults evenly spaced instead of at random moments, on a private stack.

    python bench/faults.py [--rounds 2] [--spacing 30] [--rate 5] [--kinds "kill ingest,kill worker,restart postgres,kill relay,restart kafka"] [--kafka-down 0]

The kinds take turns, --rounds times, one fault every --spacing seconds from 15 s in; uploads go
at --rate a second until 40 s after the last fault. One table: per fault kind, the gap from the
fault to the next job created (min / median / max) and Pravah's share of it (from the later of the
fault and that job's own object event reaching Kafka; a job made by a sweep before its event came
is counted apart); the restarted service's own time away (Kafka's split into stop and start, and
--kafka-down seconds held stopped between them: MinIO's producer trips its 10 s breaker after an
outage of about 8 s); the no-fault floor (the same gap from moments with no fault in the 25 s before nor the
3.5 s after: MinIO's queue store replays every 3 s); and whether chaos.run's guarantees held.

Restarting Kafka and PostgreSQL would disturb anything using `make stack`'s services, so the
stack is a private one, started here and stopped at the end: `.stack-faults/` in the checkout,
ports from 28300 (PRAVAH_STACK_DIR and PRAVAH_STACK_PORT_BASE choose others; a `.stack` is refused).
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("PRAVAH_STACK_DIR", str(ROOT / ".stack-faults"))
os.environ.setdefault("PRAVAH_STACK_PORT_BASE", "28300")
if Path(os.environ["PRAVAH_STACK_DIR"]).name == ".stack":
    sys.exit("bench/faults.py restarts Kafka and PostgreSQL: not on a default stack (.stack/); set PRAVAH_STACK_DIR to another folder")
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]

import stack as services  # noqa: E402  (reads PRAVAH_STACK_DIR when imported)
from services import chaos  # noqa: E402
from services.conftest import read_topic  # noqa: E402

from common import pct  # noqa: E402

KINDS = "kill ingest,kill worker,restart postgres,kill relay,restart kafka"
LEAD, TAIL = 15.0, 40.0
faults: list[tuple[float, str, float]] = []  # wall clock at the fault, the fault, seconds the service was away
kafka_steps: list[tuple[float, float]] = []  # Kafka's restarts: seconds to stop, seconds to start
_steps: dict[str, float] = {}


def timed(step: str, fn):
    def call(*args, **kw):
        t = time.monotonic()
        try:
            return fn(*args, **kw)
        finally:
            _steps[step] = time.monotonic() - t
    return call


def restart(name: str, _restart=services.restart) -> float:
    _steps.clear()
    wall = time.time()
    away = _restart(name)
    faults.append((wall, f"restart {name}", away))
    if name == "kafka":
        kafka_steps.append((_steps["stop"], _steps["start"]))
    return away


def kill9(self: chaos.Cluster, name: str, _kill9=chaos.Cluster.kill9) -> None:
    faults.append((time.time(), f"kill {name}", 0.0))
    _kill9(self, name)


# chaos.run calls these: note when each fault happened and how long a restart took.
services.restart, chaos.Cluster.kill9 = restart, kill9
services.stop_pid, services.kafka_up = timed("stop", services.stop_pid), timed("start", services.kafka_up)


def held_down(seconds: float, _stop=services.stop_pid):
    """stop_pid that keeps Kafka stopped `seconds` more (a longer outage than a restart's)."""
    def stop(name: str, *args, **kw):
        r = _stop(name, *args, **kw)
        if name == "kafka":
            time.sleep(seconds)
        return r
    return stop


def after(times: list[float], t: float) -> float:
    """Seconds from `t` to the first of the sorted `times` later than it."""
    i = bisect.bisect_right(times, t)
    return times[i] - t if i < len(times) else float("nan")


def floor(created: list[float]) -> list[float]:
    """The gap to the next job created from every 0.1 s with no fault in the 25 s before nor in the 3.5 s after."""
    starts = [t for t, _, _ in faults]
    gaps, x = [], created[0] + 3
    while x < created[-1] - 3:
        if not any(-3.5 < x - s < 25 for s in starts):
            gaps.append(after(created, x))
        x += 0.1
    return gaps


def mmm(xs: list[float]) -> str:
    xs = sorted(x for x in xs if x == x)
    return f"{xs[0]:.2f} / {statistics.median(xs):.2f} / {xs[-1]:.2f}" if xs else "—"


def table(kinds: list[str], jobs: list[tuple[float, str]], appended: dict[str, float]) -> list[str]:
    """`jobs`: (created_at, object), sorted; `appended`: when each object's first event reached
    Kafka. Pravah's share of a gap: from the later of the fault and that job's event reaching Kafka."""
    created = [c for c, _ in jobs]
    rows = ["| fault | n | fault → next job created, s (min / median / max) | … of which Pravah's: after the fault and that job's event in Kafka "
            "| service away, s |", "|---|---|---|---|---|"]
    for kind in dict.fromkeys(kinds):
        mine = [(t, away) for t, fault, away in faults if fault == kind]
        nxt = [jobs[bisect.bisect_right(created, t)] if created[-1] > t else (float("nan"), "") for t, _ in mine]
        gaps = [c - t for (t, _), (c, _) in zip(mine, nxt, strict=True)]
        ours = [c - max(t, appended.get(k, t)) for (t, _), (c, k) in zip(mine, nxt, strict=True)]
        swept = sum(1 for x in ours if x < 0)  # made by a sweep before its event reached Kafka
        share = mmm([x for x in ours if x >= 0]) + (f" · {swept} of {len(ours)} made by a sweep before their event" if swept else "")
        away = mmm([w for _, w in mine]) if kind.startswith("restart") else "—"
        rows.append(f"| {kind} | {len(mine)} | {mmm(gaps)} | {share} | {away} |")
    if kafka_steps:
        rows.append(f"| Kafka's own restart: stop / start, s | {len(kafka_steps)} | stop {mmm([s for s, _ in kafka_steps])} · "
                    f"start {mmm([s for _, s in kafka_steps])} | — | — |")
    quiet = floor(created)
    if quiet:
        rows.append(f"| no fault (floor: MinIO's queue store replays every 3 s) | {len(quiet)} moments | "
                    f"median {statistics.median(quiet):.2f} · p95 {pct(quiet, 95):.2f} · max {max(quiet):.2f} | — | — |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2, help="faults of each kind")
    ap.add_argument("--spacing", type=float, default=30.0, help="seconds between faults")
    ap.add_argument("--rate", type=float, default=5.0, help="uploads per second")
    ap.add_argument("--kinds", default=KINDS, help="comma-separated, from: " + KINDS)
    ap.add_argument("--kafka-down", type=float, default=0.0, help="seconds Kafka is kept stopped in a restart, beyond its stop and start")
    a = ap.parse_args()
    if a.kafka_down:
        services.stop_pid = held_down(a.kafka_down)
    kinds = [k.strip() for k in a.kinds.split(",")]
    if set(kinds) - set(KINDS.split(",")):
        ap.error(f"--kinds: unknown {', '.join(sorted(set(kinds) - set(KINDS.split(','))))}")
    schedule = [(LEAD + i * a.spacing, kind) for i, kind in enumerate(kinds * a.rounds)]
    window = schedule[-1][0] + TAIL
    files = int(window * a.rate)

    stack_env = services.up()
    db = f"pravah_faults_{uuid.uuid4().hex[:6]}"
    logs = services.STATE / db
    logs.mkdir(parents=True)
    print(f"{len(schedule)} faults, one every {a.spacing:.0f} s from {LEAD:.0f} s; {files} uploads over {window:.0f} s; logs in {logs}", flush=True)
    try:
        services.psql(f"CREATE DATABASE {db}")
        try:
            report = chaos.run(stack_env, stack_env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{db}", files, 0, logs,
                               window=window, schedule=schedule)
            jobs = sorted((float(c), k) for k, c in (line.split("|") for line in services.psql(
                "SELECT bucket || '/' || key, extract(epoch FROM created_at) FROM jobs", db).splitlines()))
        finally:
            services.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        # When each object's first event reached Kafka (the record's timestamp: MinIO's producer's).
        keys = {k for _, k in jobs}
        appended: dict[str, float] = {}
        for r in read_topic(stack_env, services.OBJECT_TOPIC, lambda rs: keys <= {(r.key or b"").decode() for r in rs}):
            k = (r.key or b"").decode()
            if k in keys:
                appended[k] = min(appended.get(k, r.timestamp / 1000), r.timestamp / 1000)
    finally:
        services.down()
    print(report.table())
    held = f" --kafka-down {a.kafka_down:g}" if a.kafka_down else ""
    print(f"Command: `python bench/faults.py --rounds {a.rounds} --spacing {a.spacing:g} --rate {a.rate:g} --kinds \"{a.kinds}\"{held}`\n")
    print("\n".join(table(kinds, jobs, appended)))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
