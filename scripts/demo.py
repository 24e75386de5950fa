"""`make run`: embedded mode on the example pipelines. Drops generated sample files into the
local inbox, waits until every job is final, then shows jobs, outputs and the API's answer."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from gen_data import write_log, write_sales_csv, write_sales_jsonl  # noqa: E402
from stack import free_port  # noqa: E402

from pravah import jobs  # noqa: E402
from pravah.embedded import Embedded  # noqa: E402
from pravah.settings import load_settings  # noqa: E402



async def main() -> None:
    home = ROOT / ".pravah"
    port = free_port()
    settings = load_settings(home=home, pipelines=ROOT / "pipelines", api={"port": port}, watcher={"settle_seconds": 0.3})
    emb = Embedded(settings)
    inbox = settings.data_dir / "inbox"
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        write_sales_csv(t / "orders-2024.csv", 50_000)
        write_sales_jsonl(t / "orders-2024.jsonl", 20_000)
        write_log(t / "api.log", 100_000)
        drops = {
            "sales/orders-2024.csv": t / "orders-2024.csv",
            "totals/orders-2024.csv": t / "orders-2024.csv",
            "logs/api.log": t / "api.log",
            "events/orders-2024.jsonl": t / "orders-2024.jsonl",
        }
        for key, src in drops.items():
            dst = inbox / key
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp_dst = dst.with_name("." + dst.name)  # write hidden, then rename: the watcher sees it whole
            shutil.copy(src, tmp_dst)
            tmp_dst.rename(dst)
        print(f"dropped {len(drops)} files into {inbox}/")
        async with anyio.create_task_group() as tg:
            tg.start_soon(emb.run)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                await anyio.sleep(0.5)
                async with emb.sessions() as s:
                    rows = await jobs.list_jobs(s, limit=500)
                mine = [r for r in rows if r.key in drops]
                if len({r.key for r in mine}) >= len(drops) and all(r.status in ("SUCCEEDED", "FAILED") for r in mine):
                    break
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                page = (await client.get("/v1/jobs", params={"limit": 10})).json()
            tg.cancel_scope.cancel()
    print(f"\nGET /v1/jobs → {len(page['items'])} job(s)")
    print(f"{'status':10} {'pipeline':16} {'input':32} output")
    failed = 0
    outputs = {r.id: f"{r.output_bucket}/{r.output_key}" for r in mine}
    for j in page["items"]:
        out = outputs.get(j["id"], "")
        print(f"{j['status']:10} {j['pipeline']:16} {j['bucket'] + '/' + j['key']:32} {out}")
        failed += j["status"] != "SUCCEEDED"
    events = settings.events_path.read_text().splitlines() if settings.events_path.exists() else []
    print(f"\ncompletion events: {len(events)} line(s) in {settings.events_path}")
    print("outputs:")
    for p in sorted((settings.data_dir / "outbox").rglob("*")):
        if p.is_file():
            print(f"  {p.relative_to(ROOT)}  {p.stat().st_size:,} bytes")
    print("\nnext: `.venv/bin/pravah up` serves the dashboard at http://127.0.0.1:8787/ui/ (upload files there, watch")
    print("      them run, download the results), or drop your own files into .pravah/data/inbox/<prefix>/")
    if failed or len(mine) < len(drops):
        sys.exit(1)


if __name__ == "__main__":
    anyio.run(main)
