"""Front-door benchmarks on the real services (PostgreSQL + MinIO on loopback), auth on.

    python bench/frontdoor.py [--rows 1000000] [--seconds 20] [--subscribers 1000] [--upload-gib 10]

1. status API, --rows jobs stored, a tenant user's access token (scope checks on):
   - GET /v1/jobs/{id} at an offered 200 requests/s (open loop: latency is measured from each
     request's scheduled start, so a slow server cannot hide its queue), p50/p99;
   - peak requests/s with 100 concurrent connections (wrk, from Debian), one job and a page.
2. --subscribers SSE clients on /v1/events held open on one API process: its RSS before and
   after, and the peak requests/s of plain requests with and without them.
3. upload of a --upload-gib file through presigned parts (`pravah upload`) against boto3's
   transfer manager (what `aws s3 cp` uses) to the same MinIO, same run; client peak RSS.
Every load generator shares the machine's cores with the API and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))

import stack as services  # noqa: E402  (scripts/stack.py)
from common import PRAVAH, free_port, need, pct, serve, stop, wait_http  # noqa: E402
PASSWORD = "bench password 1"
RUN = f"{random.randrange(16**6):06x}"
IN = f"fd-bench-{RUN}"
WRK_LUA = """
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", os.getenv("PREFIX") .. ids[math.random(#ids)] .. os.getenv("SUFFIX"), {["Authorization"] = "Bearer " .. os.getenv("TOKEN")})
end
"""


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    r = subprocess.run([str(PRAVAH), *args], env=env, input=stdin, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"pravah {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout


def setup(rows: int, logs: Path) -> tuple[dict[str, str], str, list[str]]:
    """A database with `rows` jobs, a tenant user who sees them; returns env, token, some ids."""
    stack_env = services.up()
    db = f"fd_bench_{RUN}"
    services.psql(f"CREATE DATABASE {db}")
    env = {**os.environ, **stack_env, "PRAVAH_DATABASE_URL": stack_env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{db}",
           "PRAVAH_API__PORT": str(free_port()), "XDG_CONFIG_HOME": str(logs / "config")}
    env["PRAVAH_URL"] = f"http://127.0.0.1:{env['PRAVAH_API__PORT']}"
    cli(env, "users", "create", "bench@team.test", "--tenant", "team", "--scope", f"{IN}/", "--password-stdin", stdin=PASSWORD + "\n")
    services.psql(f"""
        INSERT INTO jobs (id, bucket, key, object_version, etag, size, pipeline, pipeline_version, status, attempts, run,
                          max_attempts, output_bucket, output_key, log, next_attempt_at, created_at, updated_at, finished_at)
        SELECT md5('api' || g), '{IN}', 'api/' || g || '.csv', md5(g::text), md5(g::text), 100, 'bench', 'v1',
               (ARRAY['SUCCEEDED','FAILED','PENDING'])[1 + g % 3], 1, 1, 3, 'out', 'api/' || g || '.parquet', '[]',
               now(), now() - (g || ' seconds')::interval, now(), now()
        FROM generate_series(1, {rows}) g""", db)
    services.psql("VACUUM ANALYZE jobs", db)
    services.psql("CHECKPOINT", db)  # the bulk load's dirty pages written before anything is timed
    ids = services.psql("SELECT id FROM jobs TABLESAMPLE SYSTEM (1) LIMIT 20000", db).split()
    return env, db, ids


def token(env: dict[str, str]) -> str:
    import httpx

    r = httpx.post(env["PRAVAH_URL"] + "/v1/auth/sign-in", json={"email": "bench@team.test", "password": PASSWORD})
    r.raise_for_status()
    return r.json()["access_token"]


def fixed_rate(base: str, tok: str, ids: list[str], rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop: request i is due at start + i/rate; its latency counts from then."""
    import httpx

    lat: list[float] = []
    errors = 0

    async def one(c: httpx.AsyncClient, due: float, job: str) -> None:
        nonlocal errors
        r = await c.get(f"/v1/jobs/{job}")
        lat.append((time.monotonic() - due) * 1000)
        errors += r.status_code != 200

    async def go() -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {tok}"}, limits=limits, timeout=30) as c:
            for _ in range(20):  # warm the connection pool and the caches
                await c.get(f"/v1/jobs/{random.choice(ids)}")
            start, tasks = time.monotonic(), []
            for i in range(int(rate * seconds)):
                due = start + i / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tasks.append(asyncio.create_task(one(c, due, random.choice(ids))))
            await asyncio.gather(*tasks)

    asyncio.run(go())
    return lat, errors


def wrk(base: str, tok: str, ids: list[str], logs: Path, prefix: str, suffix: str = "", seconds: float = 20, conns: int = 100) -> dict:
    exe = need("wrk", "wrk")
    (logs / "ids.txt").write_text("\n".join(ids) + "\n")
    (logs / "req.lua").write_text(WRK_LUA + DONE_LUA)
    env = {**os.environ, "IDS": str(logs / "ids.txt"), "TOKEN": tok, "PREFIX": prefix, "SUFFIX": suffix}
    r = subprocess.run([exe, "-t2", f"-c{conns}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", str(logs / "req.lua"), base],
                       env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


DONE_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"rps": %.1f, "p50": %.2f, "p99": %.2f, "requests": %d, "errors": %d}\\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, errors))
end
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hold_streams(base: str, tok: str, n: int, opened: list[int], stop_at: asyncio.Event) -> None:
    """`n` raw SSE connections to /v1/events (plain sockets: 1,000 httpx clients would cost the
    generator more CPU than the server); `opened[0]` counts the ones that got their first event."""
    host, port = base.split("//", 1)[1].split(":")

    async def one() -> None:
        r, w = await asyncio.open_connection(host, int(port))
        w.write(f"GET /v1/events HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {tok}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode())
        await w.drain()
        first = True
        try:
            while chunk := await r.read(65536):
                if first and b"event: ready" in chunk:
                    opened[0], first = opened[0] + 1, False
        finally:
            w.close()

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await stop_at.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def with_streams(base: str, tok: str, n: int, work):  # noqa: ANN001, ANN201
    """Run `work()` while `n` SSE streams are open (in a thread of their own)."""
    import threading

    opened, loop_box = [0], {}

    def run() -> None:
        async def main() -> None:
            loop_box["loop"], loop_box["stop"] = asyncio.get_running_loop(), asyncio.Event()
            await hold_streams(base, tok, n, opened, loop_box["stop"])

        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 120
    while opened[0] < n and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        return opened[0], work()
    finally:
        loop_box["loop"].call_soon_threadsafe(loop_box["stop"].set)
        t.join(30)


def hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command. The peak is the child's own VmHWM, polled:
    wait4's ru_maxrss would report at least the parent's RSS at fork time."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while p.poll() is None:
        peak = max(peak, hwm_mb(p.pid))
        time.sleep(0.1)
    elapsed = time.monotonic() - t
    if p.returncode:
        sys.exit(f"{cmd[0]} failed: {p.stderr.read().decode()[-2000:]}")
    return elapsed, peak


BOTO3 = """
import sys, boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
s3.upload_file(sys.argv[4], sys.argv[5], sys.argv[6], Config=TransferConfig(multipart_chunksize=16 << 20, max_concurrency=int(sys.argv[7])))
"""


def bench_upload(env: dict[str, str], gib: float, parallel: int, logs: Path) -> list[str]:
    big = logs / "big.bin"
    block = os.urandom(64 << 20)
    with big.open("wb") as f:
        for _ in range(int(gib * 16)):
            f.write(block)
    size = big.stat().st_size
    services.s3_client().create_bucket(Bucket=IN)
    results: dict[str, list[tuple[float, float]]] = {"pravah upload": [], "boto3 upload_file": []}
    for rnd in range(2):
        results["boto3 upload_file"].append(timed([sys.executable, "-c", BOTO3, env["PRAVAH_S3__ENDPOINT"], env["PRAVAH_S3__ACCESS_KEY"],
                                                   env["PRAVAH_S3__SECRET_KEY"], str(big), IN, f"boto3/{rnd}.bin", str(parallel)], env))
        results["pravah upload"].append(timed([str(PRAVAH), "upload", str(big), "--to", f"{IN}/pravah{rnd}/", "--parallel", str(parallel)], env))
    big.unlink()
    best = {k: min(v) for k, v in results.items()}
    base = best["boto3 upload_file"][0]
    rows = []
    for name, (secs, rss) in best.items():
        rows.append(f"| upload {size / 2**30:.0f} GiB, {parallel} parts in flight: {name} | {secs:.1f} s · {size / secs / 1e6:,.0f} MB/s · "
                    f"client peak RSS {rss:.0f} MB · {base / secs:.2f}× boto3 | ≥ 1.0× |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--upload-gib", type=float, default=10)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--api-processes", type=int, default=2, help="`pravah serve api` processes sharing the port (SO_REUSEPORT)")
    ap.add_argument("--only", choices=["api", "sse", "upload"], action="append")
    ap.add_argument("--out", type=Path, default=HERE / "results-frontdoor.md")
    args = ap.parse_args()
    only = set(args.only or ["api", "sse", "upload"])
    logs = HERE / "data" / f"frontdoor-{RUN}"
    logs.mkdir(parents=True, exist_ok=True)
    env, db, ids = setup(args.rows if only & {"api", "sse"} else 0, logs)
    env["PRAVAH_API__SHARE_PORT"] = "true"
    apis = [serve(env, "api", logs / f"api{i}.log") for i in range(args.api_processes)]
    rows = ["| what | result | target |", "|---|---|---|"]
    try:
        wait_http(env["PRAVAH_URL"] + "/readyz")
        time.sleep(2)  # every process listening
        tok = token(env)
        base = env["PRAVAH_URL"]
        if "api" in only:
            fixed_rate(base, tok, ids, args.rate, 5)  # warm-up, discarded: connections, caches, first compiles
            lat, errors = fixed_rate(base, tok, ids, args.rate, args.seconds)
            rows.append(f"| GET /v1/jobs/{{id}}, {args.rows:,} jobs, offered {args.rate:.0f}/s for {args.seconds:.0f} s (open loop) | "
                        f"p50 {pct(lat, 50):.1f} ms · p99 {pct(lat, 99):.1f} ms · max {max(lat):.0f} ms · {errors} errors | p99 < 25 ms |")
            for label, prefix, suffix in (("GET /v1/jobs/{id}", "/v1/jobs/", ""),
                                          ("GET /v1/jobs?status=FAILED&limit=50", "/v1/jobs?status=FAILED&limit=50&x=", "")):
                w = wrk(base, tok, ids, logs, prefix, suffix, args.seconds)
                rows.append(f"| peak, 100 connections (wrk), {label} | {w['rps']:,.0f} requests/s · p50 {w['p50']:.0f} ms · "
                            f"p99 {w['p99']:.0f} ms · {w['errors']} errors | ≥ 1,000/s |")
        if "sse" in only:
            idle = sum(rss_mb(a.pid) for a in apis)
            plain = wrk(base, tok, ids, logs, "/v1/jobs/", "", args.seconds)
            opened, loaded = with_streams(base, tok, args.subscribers, lambda: (sum(rss_mb(a.pid) for a in apis), wrk(base, tok, ids, logs, "/v1/jobs/", "", args.seconds)))
            held, busy = loaded
            rows.append(f"| {args.subscribers:,} SSE subscribers on /v1/events, across the API processes | {opened:,} open; API RSS (all processes) {idle:.0f} → "
                        f"{held:.0f} MB ({(held - idle) * 1024 / max(opened, 1):.0f} KB each) | — |")
            rows.append(f"| … plain GET /v1/jobs/{{id}} peak without / with them | {plain['rps']:,.0f} → {busy['rps']:,.0f} requests/s; "
                        f"p99 {plain['p99']:.0f} → {busy['p99']:.0f} ms | — |")
        if "upload" in only:
            cli(env, "login", "bench@team.test", "--password-stdin", stdin=PASSWORD + "\n")
            rows += bench_upload(env, args.upload_gib, args.parallel, logs)
    finally:
        stop(*apis)
        services.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        services.drop_bucket(IN)
    head = (f"# Front-door results (real services, auth on)\n\nMachine: {platform.machine()}, {os.cpu_count()} cores; {date.today()}; "
            f"PostgreSQL and MinIO on 127.0.0.1 (scripts/stack.py); {args.api_processes} `pravah serve api` process(es) sharing the port; "
            f"load generators on the same cores.\n"
            f"Command: `python bench/frontdoor.py {' '.join(sys.argv[1:])}`\n\n")
    text = head + "\n".join(rows) + "\n"
    print(text)
    if only == {"api", "sse", "upload"}:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
