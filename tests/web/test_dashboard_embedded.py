"""The dashboard on embedded mode (`pravah up`: SQLite, local folders, open mode on loopback),
in a real browser: a 52 MB upload through the page into the local store, its job live to
SUCCEEDED without a reload and its output downloaded and checked; the binding tester and a
dry run; and the same axe-core scan as on the real services."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from embedded import pravah_up  # scripts/embedded.py
from services.conftest import wait_for

from .conftest import assert_accessible, download_sha256

PIPELINES = """
pipelines:
  - name: errors
    steps: [{grep: {pattern: ERROR}}, gzip]
    output: outbox/{dir}/{name}.errors.gz
  - name: error-text
    steps: [{grep: {pattern: ERROR}}]
    output: outbox/{dir}/{name}.errors.txt
  - name: events
    steps: [read_jsonl, write_parquet]
    output: outbox/{dir}/{stem}.parquet
bindings:
  - {bucket: inbox, prefix: logs/, pipeline: errors}
  - {bucket: inbox, prefix: events/, pipeline: events}
  - {bucket: inbox, prefix: text/, pipeline: error-text}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded-ui")


@pytest.fixture(scope="module")
def up(home: Path) -> Iterator[str]:
    (home / "pipelines.yaml").write_text(PIPELINES)
    with pravah_up(home / "home", home / "pipelines.yaml") as base:
        yield base


def test_upload_through_the_page_runs_live_and_downloads(up: str, page: Any, tmp_path: Path) -> None:
    big = tmp_path / "server.log"
    with big.open("wb") as f:
        i = 0
        while f.tell() < 52_000_000:
            f.write(b"".join(f"{j} {'ERROR' if j % 89 == 0 else 'INFO'} something happened here\n".encode() for j in range(i, i + 20_000)))
            i += 20_000
    page.goto(up + "/ui/upload")
    page.get_by_label("Destination").fill("inbox/logs/")
    page.locator("#files").set_input_files(str(big))
    page.wait_for_selector("#will-run p.ok")
    page.get_by_role("button", name="Upload", exact=True).click()
    link = page.get_by_role("link", name="Open the errors job")
    link.wait_for(timeout=60_000)
    assert "100 %" in page.locator("#queue").inner_text()
    link.click()
    page.evaluate("window.__same_page = true")
    page.locator('#job-status .status[data-status="SUCCEEDED"]').wait_for(timeout=60_000)
    assert page.evaluate("window.__same_page === true")
    job_id = page.url.rsplit("/", 1)[1]
    detail = httpx.get(up + f"/v1/jobs/{job_id}").json()
    assert detail["size"] == big.stat().st_size
    with page.expect_download() as dl:
        page.locator("#outputs a.download").first.click()
    assert download_sha256(dl.value) == detail["outputs"][0]["sha256"]
    # the jobs list shows it, with its download
    page.goto(up + "/ui/jobs")
    row = page.locator(f"#job-{job_id}")
    assert "SUCCEEDED" in row.inner_text() and row.get_by_role("link", name="Download the output of logs/server.log").count() == 1


def test_binding_tester_and_dry_run(up: str, page: Any) -> None:
    page.goto(up + "/ui/bindings?bucket=inbox&key=logs/x.log")
    assert "starts errors" in page.locator("#verdict").inner_text()
    page.goto(up + "/ui/bindings?bucket=inbox&key=other/x.log")
    assert "No binding takes" in page.locator("#verdict").inner_text()
    assert "does not start with the prefix 'logs/'" in page.locator("main table").last.inner_text()
    page.goto(up + "/ui/pipelines/errors")
    page.get_by_label("Sample object (bucket/key)").fill("inbox/logs/server.log")
    spec = page.get_by_label("Definition (YAML; edit to try a change)")
    spec.fill(spec.input_value().replace("pattern: ERROR", "pattern: '89 ERROR'"))
    page.get_by_role("button", name="Dry run").click()
    page.locator("#dry-verdict").wait_for(timeout=30_000)
    assert "(inline) would succeed" in page.locator("#dry-verdict").inner_text()
    spec.fill("steps: [")
    page.get_by_role("button", name="Dry run").click()
    page.get_by_role("alert").filter(has_text="not valid YAML").wait_for()


def test_embedded_screens_are_accessible(up: str, page: Any) -> None:
    job = httpx.get(up + "/v1/jobs").json()["items"][0]
    for path in ("/ui/sign-in", "/ui/jobs", f"/ui/jobs/{job['id']}", "/ui/upload", "/ui/pipelines", "/ui/pipelines/errors",
                 "/ui/bindings?bucket=inbox&key=logs/a.log", "/ui/operations"):
        page.goto(up + path)
        page.wait_for_timeout(300)
        assert_accessible(page)


def test_pause_resume_and_resume_after_a_reload(up: str, page: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    with big.open("wb") as f:
        for i in range(12):
            f.write(os.urandom(16 << 20))  # 192 MiB: 12 parts of 16 MiB
    page.goto(up + "/ui/upload")
    page.get_by_label("Destination").fill("inbox/logs/")
    page.locator("#files").set_input_files(str(big))
    page.wait_for_selector("#will-run p.ok")
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("#queue li").first
    page.wait_for_function("() => document.querySelector('#queue li progress')?.value > 5")
    row.get_by_role("button", name="Pause").click()
    assert "paused" in row.locator(".figures").inner_text()
    held = row.locator("progress").evaluate("p => p.value")
    page.wait_for_timeout(1000)
    assert row.locator("progress").evaluate("p => p.value") <= held, "parts kept going while paused"
    row.get_by_role("button", name="Resume").click()
    page.wait_for_function("() => document.querySelector('#queue li progress')?.value > 40")
    page.reload()  # a crash of the page mid-upload: the server still knows the session
    panel = page.locator("tr[data-upload]").filter(has_text="big.log")
    assert panel.count() == 1
    upload_id = panel.get_attribute("data-upload")
    stored = httpx.get(up + f"/v1/uploads/{upload_id}").json()
    assert stored["missing_parts"] and len(stored["missing_parts"]) < 12
    panel.locator("input.resume").set_input_files(str(big))
    page.get_by_role("link", name="Open the errors job").wait_for(timeout=60_000)
    done = httpx.get(up + f"/v1/uploads/{upload_id}").json()
    assert done["status"] == "COMPLETED" and done["size"] == big.stat().st_size


def test_failures_strip_retries_a_group_and_text_outputs_preview(up: str, page: Any, home: Path) -> None:
    events = home / "home" / "data" / "inbox" / "events"
    events.mkdir(parents=True, exist_ok=True)
    (events / ".broken.jsonl").write_text('{"a": 1}\n{"a": \n[2]\n')  # mostly bad lines: past max_bad_rows
    (events / ".broken.jsonl").rename(events / "broken.jsonl")
    failed = wait_for(lambda: httpx.get(up + "/v1/jobs", params={"status": "FAILED", "pipeline": "events"}).json()["items"], 30,
                      "the broken file to fail")
    page.goto(up + "/ui/jobs")
    strip = page.get_by_role("region", name="Needs attention the newest failures of the last 24 h")
    assert "LimitError" in strip.inner_text() and "events" in strip.inner_text()
    page.once("dialog", lambda d: d.accept())
    strip.get_by_role("button", name="Retry 1").click()
    wait_for(lambda: httpx.get(up + f"/v1/jobs/{failed[0]['id']}").json()["run"] == 2, 30, "the group to be retried")
    # a small text output previews in the page, from its presigned URL
    text = home / "home" / "data" / "inbox" / "text"
    text.mkdir(parents=True, exist_ok=True)
    (text / ".small.log").write_text("1 ERROR a\n2 INFO b\n3 ERROR c\n")
    (text / ".small.log").rename(text / "small.log")
    jobs = wait_for(lambda: httpx.get(up + "/v1/jobs", params={"q": "small.log", "status": "SUCCEEDED"}).json()["items"], 30,
                    "the text job to succeed")
    page.goto(up + f"/ui/jobs/{jobs[0]['id']}")
    page.get_by_role("button", name="Preview").click()
    assert page.locator("#preview-0 pre").inner_text() == "1 ERROR a\n3 ERROR c\n"
