"""Per-pipeline limits, enforced by the worker and the engine: each fails the job at once
with a LimitError naming the limit, and counts in pravah_limit_exceeded_total."""

from __future__ import annotations

import base64
import gc
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from pravah import metrics, registry
from pravah import worker as worker_module
from pravah.db.models import Job
from pravah.db.session import make_engine, migrate, sessions
from pravah.pipelines import validate
from pravah.settings import WorkerSettings
from pravah.storage import LocalStore
from pravah.worker import Worker

CASES = {
    "too-big": ("[read_csv, write_parquet]", "{max_input_bytes: 1KB}", b"a\n" + b"1\n" * 2000,
                "input is 4,002 bytes, over limits.max_input_bytes (1,000)", "max_input_bytes"),
    "too-slow": ("[{zstd: {level: 19}}]", "{timeout_seconds: 0.3}", base64.b64encode(os.urandom(8_000_000)),
                 "cancelled after limits.timeout_seconds (0.3 s)", "timeout_seconds"),
    "too-many-groups": ("[read_csv, {aggregate: {by: [k], aggs: [{fn: count}]}}, write_csv]", '{memory_bytes: "64KiB"}',
                        b"k\n" + b"".join(b"key-%d\n" % i for i in range(5000)), "over the memory budget of 64.0 KiB", "engine"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_limit_fails_the_job_with_its_name(tmp_path: Path, name: str, seed_job: Any) -> None:
    _fails_with_its_name(tmp_path, name, seed_job)


@pytest.mark.parametrize("round_", range(6))
def test_a_timeout_is_recorded_while_the_watcher_is_busy(tmp_path: Path, round_: int, seed_job: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher reads and writes the job's row every 10 ms, so the engine's cancel often lands
    while it is mid-query. CI once saw the finish wait out SQLite's 30 s busy timeout and fail here:
    the cancelled read's cursor held its lock until the garbage collector came round. Without the
    fix (write-ahead logging, and the watcher's queries shielded) about one round in four fails;
    tests/unit/test_sqlite_close.py proves the lock part deterministically."""
    monkeypatch.setattr(worker_module, "TICK_SECONDS", 0.01)
    monkeypatch.setattr(worker_module, "PROGRESS_SECONDS", 0.0)
    gc.disable()  # as when the collector is slow to come round: the cursor would stay
    try:
        _fails_with_its_name(tmp_path, "too-slow", seed_job)
    finally:
        gc.enable()


def _fails_with_its_name(tmp_path: Path, name: str, seed_job: Any) -> None:
    steps, limits, data, message, label = CASES[name]
    doc = validate(__import__("yaml").safe_load(f"""
pipelines:
  - {{name: {name}, steps: {steps}, output: "out/{{stem}}.out", limits: {limits}, retries: 3}}
bindings:
  - {{bucket: in, pipeline: {name}}}
"""))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_bytes(data)
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    before = metrics.LIMITS.labels(name, label)._value.get()

    async def go() -> Job:
        eng = make_engine(url)
        s = sessions(eng)
        job_id = await seed_job(s, doc, "x.csv", len(data))
        worker = Worker(s, registry.Registry(s), LocalStore(tmp_path), WorkerSettings())
        assert await worker.run_one()
        async with s() as session:
            job = await session.get(Job, job_id)
        await eng.dispose()
        return job

    job = anyio.run(go)
    assert job.status == "FAILED" and job.attempts == 1, job.error  # a limit is not retried
    assert job.error.startswith("LimitError") and message in job.error, job.error
    assert metrics.LIMITS.labels(name, label)._value.get() == before + 1
    assert not (tmp_path / "out" / "x.out").exists()
