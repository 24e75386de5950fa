"""`make screenshots`: every dashboard screen, as a newcomer sees it after `pravah up` on the
example pipelines, written to docs/screenshots/ (linked from the README). Embedded mode, a
real browser (Debian's Chromium through Playwright), a few generated files run through it."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from browser import chromium_path  # noqa: E402
from embedded import pravah_up  # noqa: E402
from gen_data import write_log, write_sales_csv  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        with pravah_up(t / "home", ROOT / "pipelines") as base:
            inbox = t / "home" / "data" / "inbox"
            for i in range(6):
                (inbox / "sales").mkdir(parents=True, exist_ok=True)
                write_sales_csv(t / "o.csv", 20_000 + i)
                shutil.move(t / "o.csv", inbox / "sales" / f"orders-2026-11-{10 + i:02d}.csv")
            (inbox / "logs").mkdir(parents=True, exist_ok=True)
            write_log(t / "api.log", 50_000)
            shutil.move(t / "api.log", inbox / "logs" / "api.log")
            (inbox / "events").mkdir(parents=True, exist_ok=True)
            (inbox / "events" / "broken.jsonl").write_text('{"a": 1}\n{"a": \n')  # one failure for the "needs attention" strip
            deadline = time.monotonic() + 60
            while len([j for j in httpx.get(base + "/v1/jobs").json()["items"] if j["status"] in ("SUCCEEDED", "FAILED")]) < 8:
                if time.monotonic() > deadline:
                    sys.exit("the example jobs did not finish")
                time.sleep(0.5)
            job = next(j for j in httpx.get(base + "/v1/jobs", params={"pipeline": "sales-parquet"}).json()["items"])
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
                page = b.new_page(viewport={"width": 1280, "height": 860})

                def shot(name: str, path: str | None = None) -> None:
                    if path:
                        page.goto(base + path)
                        page.wait_for_timeout(500)
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                    print(f"docs/screenshots/{name}.png")

                shot("jobs", "/ui/jobs")
                shot("job", f"/ui/jobs/{job['id']}")
                page.goto(base + "/ui/upload")
                page.locator("#files").set_input_files(files=[{"name": "orders-2026-11-23.csv", "mimeType": "text/csv",
                                                               "buffer": (inbox / "sales" / "orders-2026-11-10.csv").read_bytes()}])
                page.get_by_label("Destination").fill("inbox/sales/")
                page.wait_for_selector("#will-run p")
                page.get_by_role("button", name="Upload", exact=True).click()
                page.get_by_role("link", name="Open the sales-parquet job").wait_for(timeout=30_000)
                shot("upload")
                shot("pipelines", "/ui/pipelines")
                page.goto(base + "/ui/pipelines/sales-parquet")
                page.get_by_label("Sample object (bucket/key)").fill("inbox/sales/orders-2026-11-10.csv")
                page.get_by_role("button", name="Dry run").click()
                page.locator("#dry-rows").wait_for(timeout=30_000)
                shot("pipeline")
                shot("bindings", "/ui/bindings?bucket=inbox&key=sales/2026/orders.json")
                shot("operations", "/ui/operations")
                b.close()


if __name__ == "__main__":
    main()
