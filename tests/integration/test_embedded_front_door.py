"""The front door in embedded mode, as a user on a laptop runs it: `pravah up` (open on
loopback, then with accounts), the CLI uploading through URLs the local store signs itself,
`jobs watch` following the job over SSE (SQLite polling hub), and a signed download."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack import free_port  # scripts/stack.py

ROOT = Path(__file__).resolve().parents[2]
PRAVAH = Path(sys.executable).parent / "pravah"
PASSWORD = "embedded pass 1"
pytestmark = pytest.mark.slow


class Up:
    def __init__(self, tmp: Path, **env: str):
        self.home, self.port = tmp / "home", free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PRAVAH_WATCHER__SETTLE_SECONDS": "0.2", "PRAVAH_WATCHER__POLL_SECONDS": "0.1",
                    "PRAVAH_URL": self.url, "XDG_CONFIG_HOME": str(tmp / "config"), **env}
        self.log = tmp / "up.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(PRAVAH), "up", "--home", str(self.home), "--port", str(self.port), "-p", str(ROOT / "pipelines")],
                                         env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"pravah up did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(PRAVAH), *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120)


def make_log(path: Path, lines: int) -> bytes:
    errors, chunk = [], []
    with path.open("wb") as f:
        for i in range(lines):
            line = f"2026-11-23 {'ERROR' if i % 50 == 0 else 'INFO'} event {i} {'x' * 60}\n".encode()
            chunk.append(line)
            if i % 50 == 0:
                errors.append(line)
            if len(chunk) == 10_000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
    return b"".join(errors)


@pytest.fixture
def open_up(tmp_path: Path) -> Iterator[Up]:
    up = Up(tmp_path)
    up.start()
    yield up
    up.stop()


def test_open_mode_upload_watch_download(open_up: Up, tmp_path: Path) -> None:
    big = tmp_path / "api.log"
    expected = make_log(big, 500_000)  # ~42 MB: three 16 MiB parts
    r = open_up.cli("upload", str(big), "--to", "inbox/logs/")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "inbox/logs/api.log → error-lines@" in r.stderr
    job = next(line.split()[1] for line in r.stderr.splitlines() if line.strip().startswith("job "))
    w = open_up.cli("jobs", "watch", job)
    assert w.returncode == 0 and "SUCCEEDED" in w.stdout, w.stdout + w.stderr
    assert (open_up.home / "data" / "inbox" / "logs" / "api.log").stat().st_size == big.stat().st_size
    d = open_up.cli("jobs", "download", job, "--to", str(tmp_path))
    assert d.returncode == 0, d.stderr
    assert gzip.decompress((tmp_path / "api.errors.log.gz").read_bytes()) == expected
    # The signed URL is the credential: altered or expired, it is refused.
    url = httpx.get(open_up.url + f"/v1/jobs/{job}/outputs/0").json()["url"]
    got = httpx.get(url)
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    assert httpx.get(url.replace("sig=", "sig=0")).status_code == 403
    assert httpx.get(url.replace("name=", "name=other")).status_code == 403
    # Open mode trusts loopback callers only: no foreign Host, no cross-origin writes.
    assert httpx.get(open_up.url + "/v1/jobs", headers={"Host": "evil.example"}).status_code == 403
    r = httpx.post(open_up.url + f"/v1/jobs/{job}/retry", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["detail"]
    again = open_up.cli("jobs", "submit", "inbox/logs/api.log")
    assert again.returncode == 0 and "existed already" in again.stdout, again.stdout + again.stderr


def test_accounts_mode_in_embedded(tmp_path: Path) -> None:
    up = Up(tmp_path, PRAVAH_AUTH__MODE="accounts")
    made = up.cli("users", "create", "me@laptop.test", "--home", str(up.home), "--scope", "inbox", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    up.start()
    try:
        assert httpx.get(up.url + "/v1/jobs").status_code == 401
        assert up.cli("jobs", "ls").returncode == 1
        login = up.cli("login", "me@laptop.test", "--password-stdin", stdin=PASSWORD + "\n")
        assert login.returncode == 0, login.stderr
        small = tmp_path / "tiny.log"
        small.write_bytes(b"INFO ok\nERROR bad\n")
        r = up.cli("upload", str(small), "--to", "inbox/logs/", "--watch")
        assert r.returncode == 0 and "SUCCEEDED" in r.stdout, r.stdout + r.stderr
        assert "me@laptop.test" in up.cli("whoami").stdout
    finally:
        up.stop()


def test_bad_rows_are_set_aside_and_shown(open_up: Up, tmp_path: Path) -> None:
    """A CSV with a bad row succeeds; the job, `jobs watch`, the API and the rejects download
    all say how many rows were set aside and where."""
    src = tmp_path / "dirty.csv"
    head = "order_id,ts,customer_id,region,product,qty,unit_price,discount,status,comment\n"
    good = "".join(f"{i},2024-01-0{i}T10:00:00,{i},EU,P{i},2,3.5,0.1,shipped,ok\n" for i in range(1, 4))
    bad = "99,2024-01-09T10:00:00,9,EU,P9,2,3.5,0.1,shipped,ok,EXTRA\n"
    src.write_text(head + good + bad)
    r = open_up.cli("upload", str(src), "--to", "inbox/sales/")
    assert r.returncode == 0, r.stdout + r.stderr
    job = next(line.split()[1] for line in r.stderr.splitlines() if line.strip().startswith("job "))
    w = open_up.cli("jobs", "watch", job)
    assert w.returncode == 0 and "SUCCEEDED" in w.stdout and "1 bad row(s) set aside" in w.stdout, w.stdout + w.stderr
    j = httpx.get(open_up.url + f"/v1/jobs/{job}").json()
    assert j["rows_rejected"] == 1 and j["rejects"]["key"] == j["output_key"] + ".rejects.jsonl"
    assert j["report"]["rows_out"] == 3
    d = open_up.cli("jobs", "download", job, "--rejects", "--to", str(tmp_path))
    assert d.returncode == 0, d.stderr
    (line,) = (tmp_path / Path(j["rejects"]["key"]).name).read_text().splitlines()
    got = __import__("json").loads(line)
    assert got["line"] == 5 and got["raw"] == bad.rstrip("\n") and "expected 10 fields, found 11" in got["reason"]
    assert got["byte_offset"] == len((head + good).encode())
    # a job with nothing set aside has no rejects to download
    clean = tmp_path / "clean.csv"
    clean.write_text(head + good)
    r = open_up.cli("upload", str(clean), "--to", "inbox/sales/")
    job2 = next(line.split()[1] for line in r.stderr.splitlines() if line.strip().startswith("job "))
    assert open_up.cli("jobs", "watch", job2).returncode == 0
    assert httpx.get(open_up.url + f"/v1/jobs/{job2}/rejects").status_code == 404


def test_backfill_of_a_local_folder(open_up: Up) -> None:
    """Files already in a local bucket, under a prefix no binding watches: `pravah backfill` makes
    their jobs with the named pipeline, they run, and a second backfill makes none."""
    archive = open_up.home / "data" / "inbox" / "archive" / "2026"
    archive.mkdir(parents=True)
    for i in range(30):
        (archive / f"app-{i:02d}.log").write_text(f"INFO ok\nERROR broken {i}\nINFO fine\n")
    r = open_up.cli("backfill", "inbox/archive/", "--pipeline", "error-lines")
    assert r.returncode == 0, r.stderr
    assert "SUCCEEDED: listed 30, jobs made 30, existing 0, unrouted 0, filtered 0" in r.stdout, r.stdout
    outbox = open_up.home / "data" / "outbox" / "errors"
    deadline = time.monotonic() + 60
    while len(list(outbox.glob("app-*.errors.log.gz"))) < 30:
        assert time.monotonic() < deadline, sorted(p.name for p in outbox.glob("*"))
        time.sleep(0.2)
    assert gzip.decompress((outbox / "app-07.errors.log.gz").read_bytes()) == b"ERROR broken 7\n"
    again = open_up.cli("backfill", "inbox/archive/", "--pipeline", "error-lines")
    assert "jobs made 0, existing 30" in again.stdout, again.stdout
