"""The dashboard in a real browser on the real services (PostgreSQL, Kafka, MinIO), accounts
on: sign-in with its errors; a 55 MB upload through the page, its job going live to SUCCEEDED
without a reload, and the output downloaded and checked; cancel from a job's page; another
tenant's job is a 404 page, the operations page a 403 for users; the operations page shows
what the API reports; axe-core finds no serious or critical violation on any screen."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.conftest import RUN, Procs, deployment, produce, s3_client, stack, three_tenants, wait_for  # noqa: F401  (stack: a fixture)

from .conftest import assert_accessible, download_sha256

pytestmark = pytest.mark.services

IN, OUT = f"ui-in-{RUN}", f"ui-out-{RUN}"
PASSWORD = "dashboard pass 1"
PIPELINES = f"""
pipelines:
  - name: errors
    description: ERROR lines of a log, gzipped
    steps: [{{grep: {{pattern: ERROR}}}}, gzip]
    output: {OUT}/{{dir}}/{{name}}.errors.gz
  - name: squeeze
    steps: [{{zstd: {{level: 19}}}}]
    output: {OUT}/{{dir}}/{{name}}.zst
bindings:
  - {{bucket: {IN}, prefix: team/logs/, pipeline: errors}}
  - {{bucket: {IN}, prefix: other/slow/, pipeline: squeeze}}
"""
USERS = {"ana": ("ana@team.test", "team", f"{IN}/team/"), "oz": ("oz@other.test", "other", f"{IN}/other/"),
         "root": ("root@ops.test", "ops", IN)}


class Dash(Procs):
    def token(self, who: str) -> str:
        r = httpx.post(self.api + "/v1/auth/sign-in", json={"email": USERS[who][0], "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def get(self, who: str, path: str, **params: Any) -> Any:
        r = httpx.get(self.api + path, params=params, headers={"Authorization": f"Bearer {self.token(who)}"})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def dash(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:  # noqa: F811  (the imported fixture)
    with deployment(Dash, stack, tmp_path_factory.mktemp("dashboard"), "ui", PIPELINES, three_tenants(IN), PASSWORD,
                    {"front": "api,ingest,relay", "worker": "worker"}, (IN, OUT)) as d:
        yield d  # type: ignore[misc]


def sign_in(page: Any, dash: Dash, who: str, then: str = "/ui/jobs") -> None:
    page.goto(dash.api + then)
    page.wait_for_url(re.compile(r"/ui/sign-in\?next="))
    page.get_by_label("Email").fill(USERS[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(dash.api + then)


def write_log(path: Path, mb: int) -> None:
    with path.open("wb") as f:
        i = 0
        while f.tell() < mb * 1_000_000:
            f.write(b"".join(f"2026-11-23T10:00:{j % 60:02d}Z {'ERROR' if j % 97 == 0 else 'INFO'} request {j} path=/x/{j % 500}\n".encode()
                             for j in range(i, i + 20_000)))
            i += 20_000


def test_sign_in_errors_then_a_55_mb_upload_runs_live_and_downloads(dash: Dash, page: Any, tmp_path: Path) -> None:
    page.goto(dash.api + "/ui/jobs")
    page.wait_for_url(re.compile(r"/ui/sign-in"))
    page.get_by_label("Email").fill(USERS["ana"][0])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-in-error").wait_for()
    assert page.locator("#sign-in-error").inner_text() == "wrong email or password"
    assert page.url.startswith(dash.api + "/ui/sign-in")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(dash.api + "/ui/jobs")

    big = tmp_path / "app.log"
    write_log(big, 55)
    page.goto(dash.api + "/ui/upload")
    page.get_by_label("Destination").fill(f"{IN}/team/logs/")
    page.locator("#files").set_input_files(str(big))
    page.wait_for_selector("#will-run p")
    assert "will start pipeline errors" in page.locator("#will-run").inner_text()
    page.get_by_role("button", name="Upload", exact=True).click()
    link = page.get_by_role("link", name="Open the errors job")
    try:
        link.wait_for(timeout=120_000)
    except Exception:
        raise AssertionError(f"no job link; the page says: {page.locator('main').inner_text()!r} {page.locator('#banner').inner_text()!r}") from None
    link.click()
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f]{32}$"))
    page.evaluate("window.__same_page = true")  # a reload or navigation would drop it
    page.locator('#job-status .status[data-status="SUCCEEDED"]').wait_for(timeout=120_000)
    assert page.evaluate("window.__same_page === true"), "the page reloaded to show the final status"
    page.locator("#outputs a.download").wait_for()
    job_id = page.url.rsplit("/", 1)[1]
    detail = dash.get("ana", f"/v1/jobs/{job_id}")
    assert detail["status"] == "SUCCEEDED" and detail["size"] == big.stat().st_size
    with page.expect_download() as dl:
        page.locator("#outputs a.download").first.click()
    assert download_sha256(dl.value) == detail["outputs"][0]["sha256"]
    assert dl.value.suggested_filename == "app.log.errors.gz"


def test_cancel_a_running_job_from_its_page(dash: Dash, page: Any) -> None:
    s3_client().put_object(Bucket=IN, Key="other/slow/b.txt", Body=os.urandom(12_000_000).hex().encode())  # zstd -19: many seconds
    token = dash.token("oz")

    def running() -> dict | None:
        items = httpx.get(dash.api + "/v1/jobs", params={"prefix": "other/slow/b.txt"}, headers={"Authorization": f"Bearer {token}"}).json()["items"]
        return items[0] if items and items[0]["status"] == "RUNNING" else None

    job = wait_for(running, 60, "the slow job to run")
    sign_in(page, dash, "oz", f"/ui/jobs/{job['id']}")
    page.locator("#progress-section").wait_for()
    page.once("dialog", lambda d: d.accept())
    t = time.monotonic()
    page.get_by_role("button", name="Cancel").click()
    page.locator('#job-status .status[data-status="CANCELLED"]').wait_for(timeout=20_000)
    assert time.monotonic() - t < 15
    assert page.get_by_role("button", name="Retry").is_visible()
    assert dash.get("oz", f"/v1/jobs/{job['id']}")["status"] == "CANCELLED"


def test_other_tenants_job_is_not_found_and_operations_are_for_admins(dash: Dash, page: Any, browser: Any) -> None:
    theirs = wait_for(lambda: (items := dash.get("oz", "/v1/jobs")["items"]) and items[0], 60, "oz's job")
    sign_in(page, dash, "ana")
    r = page.goto(dash.api + f"/ui/jobs/{theirs['id']}")
    assert r.status == 404 and page.get_by_role("heading", name="Not found").is_visible()
    r = page.goto(dash.api + "/ui/operations")
    assert r.status == 403 and page.get_by_role("heading", name="Not allowed").is_visible()
    assert page.get_by_role("link", name="Operations").count() == 0
    admin = browser.new_context()
    try:
        p = admin.new_page()
        sign_in(p, dash, "root", f"/ui/jobs/{theirs['id']}")
        assert p.get_by_role("heading", name="other/slow/b.txt").is_visible()
    finally:
        admin.close()


def test_operations_page_shows_what_the_api_reports(dash: Dash, page: Any) -> None:
    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run in Playwright's thread
        pool.submit(produce, dash.env, "pravah.objects", [b"{not json at all"]).result()  # a broken event: dead-lettered
    wait_for(lambda: dash.get("root", "/v1/ops/summary")["dead_letters_24h"] >= 1, 60, "the dead letter")
    wait_for(lambda: dash.get("root", "/v1/ops/summary")["jobs"]["RUNNING"] == 0, 60, "no job running")
    sign_in(page, dash, "root", "/ui/operations")
    api = dash.get("root", "/v1/ops/summary")
    keys = ("running", "runnable", "succeeded", "failed", "open_uploads", "dead_letters_24h")
    tiles = {k: page.locator(f'#tiles [data-k="{k}"]').inner_text() for k in keys}
    assert tiles == {"running": "0", "runnable": str(api["runnable"]), "succeeded": str(api["jobs"]["SUCCEEDED"]),
                     "failed": str(api["jobs"]["FAILED"]), "open_uploads": str(api["open_uploads"]), "dead_letters_24h": str(api["dead_letters_24h"])}
    assert "{not json at all" in page.locator("#dead-letters").inner_text()
    assert api["jobs"]["SUCCEEDED"] >= 1 and api["jobs"]["CANCELLED"] >= 1
    day = page.locator('#windows tr[data-window="24h"] td')
    w = next(w for w in api["windows"] if w["name"] == "24h")
    assert [day.nth(i).inner_text() for i in range(3)] == [str(w["succeeded"]), str(w["failed"]), str(w["cancelled"])]
    assert page.locator("#workers tbody tr").first.inner_text().count("alive") == 1


def test_every_screen_has_no_serious_accessibility_violation(dash: Dash, page: Any) -> None:
    page.goto(dash.api + "/ui/sign-in")
    assert_accessible(page)
    sign_in(page, dash, "root")
    job = dash.get("root", "/v1/jobs")["items"][0]
    for path in ("/ui/jobs", f"/ui/jobs/{job['id']}", "/ui/upload", "/ui/pipelines", "/ui/pipelines/errors",
                 f"/ui/bindings?bucket={IN}&key=team/logs/x.log", "/ui/operations", "/ui/jobs/nope"):
        page.goto(dash.api + path)
        page.wait_for_load_state("networkidle") if "/ui/jobs/" not in path else page.wait_for_timeout(300)
        assert_accessible(page)
