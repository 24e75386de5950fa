"""The ops port of a process without the API, with real `pravah serve` processes on SQLite (no
servers): /healthz, /readyz with its dependencies, /metrics with the process's own counters, no
API routes; Kafka unreachable makes ingest unready; a port already taken is one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from stack import free_port

PRAVAH = Path(sys.executable).parent / "pravah"


def env_for(tmp: Path, port: int, **more: str) -> dict[str, str]:
    return {**os.environ, "PRAVAH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'db.sqlite'}", "PRAVAH_OPS__PORT": str(port),
            "PRAVAH_HOME": str(tmp / "home"), **more}


@contextmanager
def serving(role: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """`pravah serve ROLE`, its ops URL once /healthz answers."""
    base = f"http://127.0.0.1:{env['PRAVAH_OPS__PORT']}"
    with log.open("ab") as out:
        proc = subprocess.Popen([str(PRAVAH), "serve", role], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "no /healthz within 60 s"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def test_worker_answers_probes_and_its_metrics_and_nothing_else(tmp_path: Path) -> None:
    with serving("worker", env_for(tmp_path, free_port()), tmp_path / "worker.log") as base:
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(base + "/readyz")
        assert (ready.status_code, ready.json()) == (200, {"ready": True, "database": True})
        m = httpx.get(base + "/metrics")
        assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
        assert "pravah_jobs_handed_back_total 0.0" in m.text and "pravah_job_duration_seconds" in m.text
        assert "pravah_jobs{" not in m.text and "pravah_workers " not in m.text  # the API reports the database's numbers
        assert httpx.get(base + "/v1/jobs").status_code == 404 and httpx.get(base + "/docs").status_code == 404


def test_ingest_is_alive_but_not_ready_while_kafka_is_unreachable(tmp_path: Path) -> None:
    env = env_for(tmp_path, free_port(), PRAVAH_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")  # nothing listens there
    with serving("ingest", env, tmp_path / "ingest.log") as base:
        assert httpx.get(base + "/healthz").status_code == 200
        ready = httpx.get(base + "/readyz", timeout=10)
        assert (ready.status_code, ready.json()) == (503, {"ready": False, "database": True, "kafka": False})


def test_a_taken_ops_port_stops_the_process_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([str(PRAVAH), "serve", "relay"], env=env_for(tmp_path, port), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"PRAVAH_OPS__PORT {port} on 127.0.0.1 is in use" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "db.sqlite").exists()  # refused before touching the database
