"""A worker told to stop (SIGTERM, as Kubernetes does) while a job runs, in a real `pravah up`
process on the embedded default (SQLite, local folders): it claims nothing more, lets the job
finish within PRAVAH_WORKER__GRACE_SECONDS, and otherwise hands it back so that the next worker
takes it at once rather than after the lease (30 s here)."""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PRAVAH = Path(sys.executable).parent / "pravah"
LEASE = 30.0

# zstd at level 19 compresses base64 noise at about 3 MB/s here: the input's size sets the job's length.
PIPELINES = """
pipelines:
  - {name: slow, steps: [{zstd: {level: 19}}], output: "outbox/{stem}.zst", retries: 2}
bindings:
  - {bucket: inbox, pipeline: slow}
"""

pytestmark = pytest.mark.slow


def start(home: Path, grace: float) -> subprocess.Popen:
    env = {**os.environ, "PRAVAH_WATCHER__SETTLE_SECONDS": "0.1", "PRAVAH_WATCHER__POLL_SECONDS": "0.1",
           "PRAVAH_WORKER__CONCURRENCY": "1", "PRAVAH_WORKER__LEASE_SECONDS": str(LEASE), "PRAVAH_WORKER__GRACE_SECONDS": str(grace)}
    with (home.parent / "pravah.log").open("ab") as log:
        return subprocess.Popen([str(PRAVAH), "up", "--home", str(home), "--port", "0", "-p", str(home.parent / "pipelines.yaml")],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)


def jobs(home: Path) -> dict[str, sqlite3.Row]:
    """Jobs by input key."""
    try:
        with sqlite3.connect(home / "pravah.db") as c:
            c.row_factory = sqlite3.Row
            return {r["key"]: r for r in c.execute("select * from jobs")}
    except sqlite3.OperationalError:  # not created yet
        return {}


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := pred():
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def drop(home: Path, key: str, megabytes: float) -> None:
    dst = home / "data" / "inbox" / key
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name("." + dst.name)
    tmp.write_bytes(base64.b64encode(os.urandom(int(megabytes * 750_000))))
    tmp.rename(dst)


def stop(proc: subprocess.Popen) -> float:
    """SIGTERM; seconds until the process was gone."""
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the worker did not stop within 60 s of SIGTERM") from None
    return time.monotonic() - t


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "pipelines.yaml").write_text(PIPELINES)
    (tmp_path / "home" / "data" / "inbox").mkdir(parents=True)
    return tmp_path / "home"


def test_running_job_finishes_within_the_grace_and_nothing_more_is_claimed(home: Path) -> None:
    drop(home, "a.txt", 6)  # about 2-3 s of work
    drop(home, "b.txt", 0.1)
    proc = start(home, grace=20)
    try:
        running = wait_for(lambda: [k for k, j in jobs(home).items() if j["status"] == "RUNNING"] if len(jobs(home)) == 2 else None,
                           30, "one of the two jobs to run")
        took = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    got = jobs(home)
    first, other = running[0], ({"a.txt", "b.txt"} - set(running)).pop()
    assert proc.returncode == 0
    assert got[first]["status"] == "SUCCEEDED" and got[first]["attempts"] == 1, dict(got[first])
    assert (home / "data" / "outbox" / f"{Path(first).stem}.zst").stat().st_size > 0
    assert got[other]["status"] == "PENDING" and got[other]["attempts"] == 0, dict(got[other])  # not claimed once stopping
    assert took < 20, f"stopping took {took:.1f} s"


def test_job_still_running_after_the_grace_is_handed_back_and_taken_at_once(home: Path) -> None:
    drop(home, "big.txt", 60)  # about 25 s of work: far past the grace
    proc = start(home, grace=0.5)
    try:
        wait_for(lambda: jobs(home).get("big.txt") is not None and jobs(home)["big.txt"]["status"] == "RUNNING", 30, "the job to run")
        time.sleep(1.0)  # well into the engine run
        took = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    job = jobs(home)["big.txt"]
    assert proc.returncode == 0
    assert took < 5, f"stopping took {took:.1f} s with a 0.5 s grace"
    assert (job["status"], job["attempts"], job["lease_owner"]) == ("PENDING", 0, None), dict(job)
    assert "handed back" in job["log"]
    assert not (home / "data" / "outbox" / "big.zst").exists()  # the multipart write was aborted, not half-done

    restarted = time.monotonic()
    proc = start(home, grace=0)
    try:
        wait_for(lambda: jobs(home)["big.txt"]["status"] == "RUNNING", LEASE, "the next worker to take the job")
        waited = time.monotonic() - restarted
        assert jobs(home)["big.txt"]["attempts"] == 1  # the handed-back run did not count
        assert waited < LEASE / 3, f"taken after {waited:.1f} s: that is the lease, not a hand-back"
        stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert jobs(home)["big.txt"]["status"] == "PENDING"  # handed back again: a zero grace stops the engine at once


def test_a_second_signal_hands_back_at_once_instead_of_waiting_the_grace(home: Path) -> None:
    drop(home, "big.txt", 40)  # about 15 s of work, within the 60 s grace
    proc = start(home, grace=60)
    try:
        wait_for(lambda: jobs(home).get("big.txt") is not None and jobs(home)["big.txt"]["status"] == "RUNNING", 30, "the job to run")
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        time.sleep(1.5)
        assert proc.poll() is None and jobs(home)["big.txt"]["status"] == "RUNNING"  # the grace holds
        took = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    job = jobs(home)["big.txt"]
    assert proc.returncode == 0 and took < 5, f"stopped {took:.1f} s after the second signal"
    assert (job["status"], job["attempts"], job["lease_owner"]) == ("PENDING", 0, None), dict(job)
