"""Embedded mode end to end, as a user runs it: `pravah up` in its own process, files dropped
into the local inbox, killed with SIGKILL mid-run and restarted."""

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
PRAVAH = Path(sys.executable).parent / "pravah"

pytestmark = pytest.mark.slow


def start(home: Path) -> subprocess.Popen:
    home.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PRAVAH_WATCHER__SETTLE_SECONDS": "0.2",
        "PRAVAH_WATCHER__POLL_SECONDS": "0.1",
        "PRAVAH_WORKER__LEASE_SECONDS": "2",
        "PRAVAH_WORKER__POLL_SECONDS": "0.05",
    }
    with (home.parent / "pravah.log").open("ab") as log:
        return subprocess.Popen(
            [str(PRAVAH), "up", "--home", str(home), "--port", "0", "-p", str(ROOT / "pipelines")],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )


def jobs(home: Path) -> list[dict]:
    db = home / "pravah.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as c:
        c.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in c.execute("select * from jobs")]
        except sqlite3.OperationalError:
            return []


def wait_for(pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def drop(inbox: Path, key: str, data: bytes) -> None:
    dst = inbox / key
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name("." + dst.name)
    tmp.write_bytes(data)
    tmp.rename(dst)


def sales(n: int, seed: int) -> bytes:
    rows = "".join(f"{seed * 100000 + i},2024-01-01T00:00:00,{i},EU,P1,{i % 5 + 1},2.5,0,shipped,\n" for i in range(n))
    return ("order_id,ts,customer_id,region,product,qty,unit_price,discount,status,comment\n" + rows).encode()


def test_files_become_outputs_jobs_and_events_across_a_crash(tmp_path):
    home = tmp_path / "home"
    inbox = home / "data" / "inbox"
    proc = start(home)
    try:
        wait_for(lambda: (home / "pravah.db").exists() and inbox.exists())
        files = {f"sales/batch-{i:02d}.csv": sales(2000, i) for i in range(12)}
        first, later = list(files)[:6], list(files)[6:]
        for key in first:
            drop(inbox, key, files[key])
        drop(inbox, "logs/app.log", b"INFO ok\nERROR bad thing\nINFO fine\n")
        # mostly bad rows: past max_bad_rows (50 %), so the job fails (a few would be set aside)
        drop(inbox, "sales/broken.csv", sales(3, 99) + b"1,2,3\n" * 4)
        drop(inbox, "unbound/ignored.csv", b"a\n1\n")
        # Kill it once a job has finished, likely mid-run for the others (the engine may be fast
        # enough to finish them all first); the rest of the files arrive while it is down, so the
        # restart always has work that was never seen as well as any the crash cut short.
        wait_for(lambda: any(j["status"] == "SUCCEEDED" for j in jobs(home)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for key in later:
            drop(inbox, key, files[key])
        before = {j["key"] for j in jobs(home)}
        assert before.isdisjoint(later) and len(before) <= len(first) + 2, before

        proc = start(home)
        expected = len(files) + 2
        wait_for(lambda: len(jobs(home)) == expected and all(j["status"] in ("SUCCEEDED", "FAILED") for j in jobs(home)), timeout=90)
        # Let the relay publish the last events.
        wait_for(lambda: (home / "events.jsonl").exists() and len({json.loads(x)["id"] for x in (home / "events.jsonl").read_text().splitlines()}) == expected)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            warnings.warn("pravah up did not stop within 10 s of SIGTERM: killed", stacklevel=1)

    done = jobs(home)
    by_key = {j["key"]: j for j in done}
    assert len(done) == len(by_key) == expected, "one job per file, none duplicated by the restart"
    assert "unbound/ignored.csv" not in by_key
    for key, data in files.items():
        j = by_key[key]
        assert j["status"] == "SUCCEEDED", j
        out = home / "data" / j["output_bucket"] / j["output_key"]
        table = pq.read_table(out)
        assert table.num_rows == 2000  # all shipped with qty > 0
        assert json.loads(j["report"])["rows_in"] == 2000
    broken = by_key["sales/broken.csv"]
    assert broken["status"] == "FAILED" and "LimitError" in broken["error"] and "max_bad_rows" in broken["error"], broken
    assert "line 5: expected 10 fields, found 3" in broken["error"]
    # Bad input is not retried (an attempt cut short by the SIGKILL may add one take-over).
    log = json.loads(broken["log"])
    assert not any("retrying" in line for line in log), log
    assert broken["attempts"] == 1 + sum("taken over" in line for line in log), log
    log = by_key["logs/app.log"]
    assert gzip.decompress((home / "data" / log["output_bucket"] / log["output_key"]).read_bytes()) == b"ERROR bad thing\n"

    events = [json.loads(x) for x in (home / "events.jsonl").read_text().splitlines()]
    ids = {e["id"] for e in events}
    assert ids == {f"{j['id']}.{'succeeded' if j['status'] == 'SUCCEEDED' else 'failed'}" for j in done}
    failed = next(e for e in events if e["data"]["input"]["key"] == "sales/broken.csv")
    assert failed["type"] == "pravah.job.failed" and "line" in failed["data"]["error"]
    ok = next(e for e in events if e["data"]["input"]["key"] == "sales/batch-00.csv")
    assert ok["data"]["outputs"][0]["sha256"] and ok["subject"] == "inbox/sales/batch-00.csv"


def test_restart_does_not_reprocess_finished_files(tmp_path):
    home = tmp_path / "home"
    inbox = home / "data" / "inbox"
    proc = start(home)
    try:
        wait_for(lambda: inbox.exists())
        drop(inbox, "logs/a.log", b"ERROR x\n")
        wait_for(lambda: [j["status"] for j in jobs(home)] == ["SUCCEEDED"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    proc = start(home)
    try:
        time.sleep(2.0)
        assert [(j["key"], j["attempts"]) for j in jobs(home)] == [("logs/a.log", 1)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
