"""Dashboard benchmarks on the real services (PostgreSQL + MinIO on loopback), accounts on,
a tenant user's browser session (cookies), --rows jobs stored:

    python bench/dashboard.py [--rows 1000000] [--requests 200] [--changes 40]

1. /ui/jobs server time (rendered HTML, 50 rows, the failures strip included), sequential
   requests from a client on the same machine, per filter: p50/p95 (target p95 < 100 ms);
2. a status change written to the database (UPDATE jobs + INSERT job_events in one
   transaction, as a worker does) → the jobs page in Chromium showing it: p50/p95 (target
   p95 < 1 s) — the clock is the machine's, read by both sides;
3. the jobs page's weight, uncached: every byte the browser received (target < 150 KB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))

import frontdoor  # noqa: E402  (its setup: the database, the user, the jobs)
import stack as services  # noqa: E402
from browser import chromium_path  # noqa: E402
from common import pct, serve, stop, wait_http  # noqa: E402

VARIANTS = {"newest": "", "status=FAILED": "status=FAILED", "prefix": f"prefix={frontdoor.IN}/api/12",
            "key search": "q=4242", "last 24h": "window=24h"}


def cookies(base: str) -> dict[str, str]:
    import httpx

    r = httpx.post(base + "/v1/auth/sign-in", json={"email": "bench@team.test", "password": frontdoor.PASSWORD, "cookie": True})
    r.raise_for_status()
    return dict(r.cookies)


def page_times(base: str, jar: dict[str, str], query: str, n: int) -> list[float]:
    import httpx

    out = []
    with httpx.Client(base_url=base, cookies=jar, timeout=30) as c:
        for i in range(n + 5):
            t = time.perf_counter()
            r = c.get("/ui/jobs" + (f"?{query}" if query else ""))
            if r.status_code != 200:
                sys.exit(f"/ui/jobs?{query} → {r.status_code}: {r.text[:300]}")
            if i >= 5:  # the first few warm the caches
                out.append((time.perf_counter() - t) * 1000)
    return out


async def change_status(url: str, job: str, status: str) -> float:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        t0 = time.time() * 1000
        async with conn.transaction():
            await conn.execute("UPDATE jobs SET status = $1, updated_at = now() WHERE id = $2", status, job)
            await conn.execute("INSERT INTO job_events (job_id, kind, data, at) VALUES ($1, 'status', $2, now())", job,
                               json.dumps({"status": status, "attempt": 1}))
        return t0
    finally:
        await conn.close()


def live_latency(base: str, jar: dict[str, str], db_url: str, changes: int) -> tuple[list[float], int]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        ctx = b.new_context()
        ctx.add_cookies([{"name": k, "value": v, "url": base} for k, v in jar.items()])
        page = ctx.new_page()
        page.goto(base + "/ui/jobs")
        page.locator('#live[data-state="live"]').wait_for(timeout=15000)
        ids = page.eval_on_selector_all("#jobs tbody tr[data-job]", "rows => rows.map(r => r.dataset.job)")
        page.evaluate("""() => { window.__seen = {};
            new MutationObserver(ms => { for (const m of ms) { const tr = m.target.closest && m.target.closest('tr[data-job]');
              if (tr) { const s = tr.querySelector('.status'); window.__seen[tr.dataset.job + ':' + s.dataset.status] ??= Date.now(); } } })
            .observe(document.getElementById('jobs'), {subtree: true, attributes: true, childList: true}); }""")
        lat = []
        pool = ThreadPoolExecutor(1)
        for i in range(changes):
            job = ids[i % len(ids)]
            status = "RUNNING" if (i // len(ids)) % 2 == 0 else "FAILED"
            t0 = pool.submit(asyncio.run, change_status(db_url, job, status)).result()  # Playwright's thread runs a loop
            key = f"{job}:{status}"
            page.wait_for_function(f"() => window.__seen[{json.dumps(key)}] !== undefined", timeout=10000)
            lat.append(page.evaluate(f"window.__seen[{json.dumps(key)}]") - t0)
            time.sleep(0.2)
        b.close()
    return lat, len(ids)


def page_weight(base: str, jar: dict[str, str]) -> tuple[int, int]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        ctx = b.new_context()
        ctx.add_cookies([{"name": k, "value": v, "url": base} for k, v in jar.items()])
        page = ctx.new_page()
        responses = []
        page.on("requestfinished", lambda r: responses.append(r))
        page.goto(base + "/ui/jobs", wait_until="networkidle")
        total = 0
        for r in responses:
            s = r.sizes()
            total += s["responseBodySize"] + s["responseHeadersSize"]
        b.close()
    return total, len(responses)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--out", type=Path, default=HERE / "results-dashboard.md")
    args = ap.parse_args()
    logs = HERE / "data" / f"dashboard-{frontdoor.RUN}"
    logs.mkdir(parents=True, exist_ok=True)
    env, db, _ = frontdoor.setup(args.rows, logs)
    # a day of failures for the strip: the newest 1 % of the FAILED jobs finished in the last 24 h with two kinds of error
    services.psql("UPDATE jobs SET error = CASE WHEN key LIKE '%1.csv' THEN 'InputFormatError: line 3: 4 fields, expected 5' "
                  "ELSE 'LimitError: output over 1 GiB' END, finished_at = now() - interval '1 hour' "
                  "WHERE status = 'FAILED' AND created_at > now() - interval '30000 seconds'", db)
    services.psql("ANALYZE jobs", db)
    api = serve(env, "api", logs / "api.log")
    rows = ["| what | result | target |", "|---|---|---|"]
    try:
        base = env["PRAVAH_URL"]
        wait_http(base + "/readyz")
        jar = cookies(base)
        for name, query in VARIANTS.items():
            t = page_times(base, jar, query, args.requests)
            rows.append(f"| /ui/jobs server time, {name}{f' (`{query}`)' if query else ''}, {args.rows:,} jobs | "
                        f"p50 {pct(t, 50):.1f} ms · p95 {pct(t, 95):.1f} ms · max {max(t):.0f} ms | p95 < 100 ms |")
        lat, shown = live_latency(base, jar, env["PRAVAH_DATABASE_URL"].replace("postgresql+asyncpg", "postgresql"), args.changes)
        rows.append(f"| status change in the database → shown on the jobs page in Chromium ({len(lat)} changes over {shown} rows) | "
                    f"p50 {pct(lat, 50):.0f} ms · p95 {pct(lat, 95):.0f} ms · max {max(lat):.0f} ms | p95 < 1 s |")
        total, n = page_weight(base, jar)
        rows.append(f"| jobs page weight, uncached ({n} responses: HTML, CSS, JS modules) | {total / 1024:.1f} KB | < 150 KB |")
    finally:
        stop(api)
        services.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    head = (f"# Dashboard results (real services, accounts on)\n\nMachine: {platform.machine()}, {os.cpu_count()} cores; {date.today()}; "
            f"PostgreSQL on 127.0.0.1 (scripts/stack.py); one `pravah serve api` process; client and Chromium on the same cores.\n"
            f"Command: `python bench/dashboard.py {' '.join(sys.argv[1:])}`\n\n")
    text = head + "\n".join(rows) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
