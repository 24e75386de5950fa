"""Fixtures for tests against the real services: PostgreSQL, Kafka (KRaft) and MinIO on
127.0.0.1, started by scripts/stack.py (and stopped again if this session started them).
Each session uses its own database, buckets and consumer groups, so a stack a person keeps
running for `make stack` is not disturbed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import stack as services
from stack import drop_bucket, free_port, psql, s3_client  # noqa: F401  (used by the test modules)

ROOT = Path(__file__).resolve().parents[2]
PRAVAH = Path(sys.executable).parent / "pravah"
RUN = uuid.uuid4().hex[:8]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/services/" in str(item.fspath):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, str]]:
    was_running = services.running()
    env = services.up()
    yield env
    if not was_running and not os.environ.get("PRAVAH_KEEP_STACK"):
        services.down()


@pytest.fixture(scope="session")
def pg_url(stack: dict[str, str]) -> Iterator[str]:
    """A database of this test session's own."""
    name = f"pravah_test_{RUN}"
    psql(f"CREATE DATABASE {name}")
    yield stack["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def own_database(stack: dict[str, str], name: str) -> Iterator[str]:
    """A database for one test module; its URL."""
    psql(f"CREATE DATABASE {name}")
    try:
        yield stack["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def produce(env: dict[str, str], topic: str, values: list[bytes], key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None) -> None:
    from aiokafka import AIOKafkaProducer

    async def go() -> None:
        p = AIOKafkaProducer(bootstrap_servers=env["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"], acks="all")
        await p.start()
        try:
            for v in values:
                await p.send_and_wait(topic, v, key=key, headers=headers)
        finally:
            await p.stop()

    asyncio.run(go())


def read_topic(env: dict[str, str], topic: str, done: Callable[[list], bool], timeout: float = 30.0) -> list:
    """Every record of `topic` from the beginning, until `done(records)` or the timeout."""
    from aiokafka import AIOKafkaConsumer

    async def go() -> list:
        c = AIOKafkaConsumer(topic, bootstrap_servers=env["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"], group_id=f"reader-{uuid.uuid4().hex}",
                             auto_offset_reset="earliest", enable_auto_commit=False)
        await c.start()
        records: list = []
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                batch = await c.getmany(timeout_ms=200)
                for msgs in batch.values():
                    records.extend(msgs)
                if done(records):
                    break
        finally:
            await c.stop()
        return records

    return asyncio.run(go())


def wait_for(pred: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Procs:
    """`pravah serve ROLE` processes of one test module, logs under `logs`. Each has an ops port
    of its own (a process without the API serves its probes and /metrics there), kept across restarts."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.api = f"http://127.0.0.1:{env['PRAVAH_API__PORT']}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.ops_ports: dict[str, int] = {}

    def start(self, name: str, role: str) -> None:
        env = {**self.env, "PRAVAH_OPS__PORT": str(self.ops_ports.setdefault(name, free_port()))}
        with (self.logs / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen([str(PRAVAH), "serve", role], env=env, stdout=log, stderr=log)

    def ops(self, name: str) -> str:
        """Base URL of the ops port of process `name`."""
        return f"http://127.0.0.1:{self.ops_ports[name]}"

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for name, p in self.procs.items():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()  # reaped: an unreaped one printed a ResourceWarning at the interpreter's exit
                warnings.warn(f"pravah serve {name} did not stop within 10 s of SIGTERM: killed (see {self.logs / name}.log)", stacklevel=1)

    def cli(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """`pravah ARGS` with this group's settings."""
        r = subprocess.run([str(PRAVAH), *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, f"pravah {' '.join(args)} → {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    @contextlib.contextmanager
    def running(self, **roles: str) -> Iterator[None]:
        """The named processes (name=role), until the block ends; ready when it starts."""
        for name, role in roles.items():
            self.start(name, role)
        try:
            wait_for(self.ready, 60, "the API to be ready")
            yield
        finally:
            self.stop()

    def ready(self) -> bool:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.api + "/readyz", timeout=5) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False


def three_tenants(bucket: str) -> list[tuple[str, str, str, bool]]:
    """(email, tenant, scope, admin): two tenants under `bucket`, and an administrator."""
    return [("ana@team.test", "team", f"{bucket}/team/", False), ("oz@other.test", "other", f"{bucket}/other/", False),
            ("root@ops.test", "ops", bucket, True)]


@contextlib.contextmanager
def deployment(kind: type[Procs], stack: dict[str, str], tmp: Path, name: str, pipelines: str, users: list[tuple[str, str, str, bool]],
               password: str, roles: dict[str, str], buckets: tuple[str, ...], **settings: str) -> Iterator[Procs]:
    """Pravah for one test module, through its own CLI as an operator would set it up: a
    database and consumer group of its own, `pipelines` applied, the users created, the
    `roles` (name=role) running; `buckets` dropped at the end (a kept stack must not fill
    the disk run after run). `settings`: more PRAVAH_* variables."""
    with own_database(stack, f"{name}_{RUN}") as url:
        env = {**os.environ, **stack, "PRAVAH_DATABASE_URL": url, "PRAVAH_KAFKA__GROUP_ID": f"{name}-{RUN}",
               "PRAVAH_API__PORT": str(free_port()), "XDG_CONFIG_HOME": str(tmp / "config"), **settings}
        env["PRAVAH_URL"] = f"http://127.0.0.1:{env['PRAVAH_API__PORT']}"
        (tmp / "pipelines.yaml").write_text(pipelines)
        d = kind(env, tmp)
        d.cli("apply", str(tmp / "pipelines.yaml"))
        for email, tenant, scope, admin in users:
            d.cli("users", "create", email, "--tenant", tenant, "--scope", scope, "--password-stdin", *(["--admin"] if admin else []),
                  stdin=password + "\n")
        try:
            with d.running(**roles):
                yield d
        finally:
            for b in buckets:
                drop_bucket(b)
