"""Backfills on the real services: objects already in MinIO become jobs through `POST /v1/backfills`
and `pravah backfill` (a runner beside the workers of `pravah serve worker`), once — a second
backfill makes none — within the caller's scopes only; a runner that died mid-way is resumed at
its cursor on PostgreSQL without a duplicate; and the reconcile sweep makes the job of an object
whose event never arrived."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
import yaml
from sqlalchemy import func, select

from pravah import engine, registry
from pravah.accounts.principal import LOCAL
from pravah.batch import backfills
from pravah.batch.listing import objects
from pravah.batch.models import Backfill
from pravah.batch.runner import Runner
from pravah.db.models import Job, Status
from pravah.db.session import make_engine, migrate, sessions
from pravah.pipelines import validate
from pravah.routing import Router
from pravah.settings import BatchSettings, S3Settings
from pravah.storage import S3Store

from .conftest import RUN, Procs, deployment, own_database, psql, s3_client, three_tenants, wait_for

IN, OUT = f"bf-in-{RUN}", f"bf-out-{RUN}"
PASSWORD = "backfill pass 1234"
PIPELINES = f"""
pipelines:
  - name: later                  # a pool no worker here serves: its jobs wait, the counts stay put
    steps: [gzip]
    output: {OUT}/later/{{key}}.gz
    runtime: {{pool: later}}
  - name: gz
    steps: [gzip]
    output: {OUT}/gz/{{key}}.gz
bindings:
  - {{bucket: {IN}, prefix: team/logs/, pipeline: later}}
  - {{bucket: {IN}, prefix: team/small/, pipeline: gz}}
"""
MANY = 2_000


class Backfills(Procs):
    def headers(self, email: str) -> dict[str, str]:
        r = httpx.post(self.api + "/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def backfill(self, headers: dict[str, str], **body: object) -> httpx.Response:
        return httpx.post(self.api + "/v1/backfills", json=body, headers=headers)

    def finished(self, headers: dict[str, str], backfill_id: str) -> dict:
        def done() -> dict | None:
            b = httpx.get(self.api + f"/v1/backfills/{backfill_id}", headers=headers).json()
            return b if b["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

        return wait_for(done, 120, f"backfill {backfill_id}")


def put_many(prefix: str, n: int) -> None:
    s3 = s3_client()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=IN, Key=f"{prefix}{i:05d}.log", Body=f"line {i}\n".encode()), range(n)))


@pytest.fixture(scope="module")
def bf(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfills]:
    with deployment(Backfills, stack, tmp_path_factory.mktemp("backfill"), "bf", PIPELINES, three_tenants(IN), PASSWORD,
                    {"front": "api", "worker": "worker"}, (IN, OUT)) as d:
        # No ingest runs here: MinIO's events for these uploads make no job; only backfills do.
        put_many("team/logs/", MANY)
        put_many("team/small/", 20)
        yield d  # type: ignore[misc]


def test_a_prefix_becomes_jobs_once(bf: Backfills) -> None:
    ana = bf.headers("ana@team.test")
    r = bf.backfill(ana, bucket=IN, prefix="team/logs/")
    assert r.status_code == 201, r.text
    b = bf.finished(ana, r.json()["id"])
    assert (b["status"], b["listed"], b["created"], b["existing"], b["unrouted"]) == ("SUCCEEDED", MANY, MANY, 0, 0)
    assert b["jobs"] == {"pending": MANY} and b["created_by"] == "ana@team.test"
    db = bf.env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]
    assert psql(f"SELECT count(DISTINCT key), count(*) FROM jobs WHERE backfill_id = '{b['id']}' AND pool = 'later'", db=db) == f"{MANY}|{MANY}"

    again = bf.finished(ana, bf.backfill(ana, bucket=IN, prefix="team/").json()["id"])  # the whole tenant: the logs again, and small/
    assert (again["listed"], again["created"], again["existing"]) == (MANY + 20, 20, MANY)
    assert psql(f"SELECT count(*) FROM jobs WHERE bucket = '{IN}'", db=db) == str(MANY + 20)
    # the 20 of team/small/ run (the default pool's worker): outputs land
    wait_for(lambda: httpx.get(bf.api + f"/v1/backfills/{again['id']}", headers=ana).json()["jobs"].get("succeeded") == 20, 120,
             "the small backfill's jobs")
    assert s3_client().head_object(Bucket=OUT, Key="gz/team/small/00019.log.gz")["ContentLength"] > 0


def test_who_may_backfill(bf: Backfills) -> None:
    ana, oz = bf.headers("ana@team.test"), bf.headers("oz@other.test")
    assert bf.backfill({}, bucket=IN, prefix="team/").status_code == 401
    r = bf.backfill(oz, bucket=IN, prefix="team/")
    assert r.status_code == 404 and "among your scopes" in r.json()["detail"]
    assert bf.backfill(ana, bucket=IN, prefix="").status_code == 404  # the whole bucket is more than ana's scope
    assert bf.backfill(ana, bucket=IN, prefix="team/", pipeline="nope").status_code == 404
    mine = bf.backfill(ana, bucket=IN, prefix="team/small/").json()["id"]
    assert httpx.get(bf.api + f"/v1/backfills/{mine}", headers=oz).status_code == 404
    assert httpx.post(bf.api + f"/v1/backfills/{mine}/cancel", headers=oz).status_code == 404
    assert all(b["id"] != mine for b in httpx.get(bf.api + "/v1/backfills", headers=oz).json())
    assert any(b["id"] == mine for b in httpx.get(bf.api + "/v1/backfills", headers=bf.headers("root@ops.test")).json())
    key = httpx.post(bf.api + "/v1/keys", json={"name": "ro", "scopes": ["read"]}, headers=ana).json()["key"]
    r = bf.backfill({"Authorization": f"Bearer {key}"}, bucket=IN, prefix="team/")
    assert r.status_code == 403


def test_the_cli_follows_a_backfill(bf: Backfills) -> None:
    bf.cli("login", "ana@team.test", "--password-stdin", stdin=PASSWORD + "\n")
    r = bf.cli("backfill", f"s3://{IN}/team/small/", "--pipeline", "later", "--glob", "0001*.log")
    assert "SUCCEEDED: listed 20, jobs made 10, existing 0, unrouted 0, filtered 10" in r.stdout, r.stdout
    bad = bf.cli("backfill", f"s3://{IN}/team/", "--older-than", "7 days", check=False)
    assert bad.returncode == 2 and '--older-than "7 days": not an age' in bad.stderr
    gone = bf.cli("backfill", f"s3://{IN}/other/", check=False)
    assert gone.returncode == 1 and "no prefix" in gone.stderr


def test_a_dead_runner_resumes_on_postgres_without_duplicates(stack: dict[str, str], bf: Backfills) -> None:
    store = S3Store(S3Settings(endpoint=stack["PRAVAH_S3__ENDPOINT"], access_key=stack["PRAVAH_S3__ACCESS_KEY"],
                               secret_key=stack["PRAVAH_S3__SECRET_KEY"]))
    doc = validate(yaml.safe_load(PIPELINES))
    with own_database(stack, f"bfresume_{RUN}") as url:
        migrate(url)

        async def go() -> tuple[Backfill, int, int]:
            eng = make_engine(url)
            s = sessions(eng)
            async with s() as session:
                await registry.apply(session, doc, "doc.yaml")
                b = await backfills.create(session, LOCAL, Router(doc), IN, "team/logs/", None, backfills.Filters(), None)
            dead = Runner(s, store, url, BatchSettings(lease_seconds=0.2))
            async with s() as session:
                mine = await backfills.claim(session, dead.owner, dead.lease)
                page = list(objects(store, IN, "team/logs/", None))[:1000]
                rows, counts = backfills.rows_for(mine, page, Router(doc), datetime.now(UTC))
                assert await backfills.commit_page(session, mine, dead.owner, dead.lease, rows, counts, page[-1].key, False)
            await anyio.sleep(0.4)
            heir = Runner(s, store, url, BatchSettings())
            async with s() as session:
                taken = await backfills.claim(session, heir.owner, timedelta(seconds=30))
            assert taken.cursor == page[-1].key
            await heir.run(taken)
            async with s() as session:
                late = await backfills.commit_page(session, mine, dead.owner, dead.lease, rows, counts, page[-1].key, False)
                n, distinct = (await session.execute(select(func.count(Job.id), func.count(func.distinct(Job.key))))).one()
                done = await session.get(Backfill, b.id)
            await eng.dispose()
            assert not late
            return done, n, distinct

        done, n, distinct = anyio.run(go)
    assert (done.status, done.listed, done.created) == ("SUCCEEDED", MANY, MANY) and n == distinct == MANY


RECONCILE = f"""
pipelines:
  - name: gz
    steps: [gzip]
    output: {OUT}-r/{{key}}.gz
bindings:
  - {{bucket: {IN}-r, prefix: drop/, pipeline: gz}}
"""


def test_the_reconcile_sweep_makes_the_job_of_a_lost_event(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> None:
    with deployment(Backfills, stack, tmp_path_factory.mktemp("reconcile"), "rc", RECONCILE, [], PASSWORD,
                    {"front": "api,ingest", "worker": "worker"}, (f"{IN}-r", f"{OUT}-r"), PRAVAH_BATCH__RECONCILE_SECONDS="2") as d:
        s3 = s3_client()
        s3.put_bucket_notification_configuration(Bucket=f"{IN}-r", NotificationConfiguration={})  # MinIO sends no event now
        s3.put_object(Bucket=f"{IN}-r", Key="drop/lost.log", Body=b"no event for me\n")
        db = d.env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]

        def finished() -> str | None:
            row = psql("SELECT b.kind, j.status FROM jobs j JOIN backfills b ON b.id = j.backfill_id WHERE j.key = 'drop/lost.log'", db=db)
            return row if row.rpartition("|")[2] in Status.FINAL else None

        # The job's final status, not its output: the output is written before the status, and on
        # busy cores the sweep, the claim and the run can take minutes.
        row = wait_for(finished, 180, "the swept object's job to finish")
        assert row == "reconcile|SUCCEEDED"
        assert s3.list_objects_v2(Bucket=f"{OUT}-r").get("KeyCount", 0) == 1
        metrics = httpx.get(d.ops("worker") + "/metrics").text
        assert "pravah_reconciled_total 1.0" in metrics


class KafkaPath:
    """A TCP path to the stack's Kafka that the test can cut: connections to `address` are
    forwarded to Kafka while it is open; once `cut()`, they are refused, as by a Kafka that is down."""

    def __init__(self, kafka: str) -> None:
        host, _, port = kafka.rpartition(":")
        self.kafka = (host, int(port))
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listening.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listening.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.kafka)
            except OSError:
                client.close()
                continue
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # the other direction's recv ends too, and closes its end
        src.close()

    def cut(self) -> None:
        self.listening.close()


def test_while_kafka_is_away_the_workers_sweep_uploads_into_jobs(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> None:
    """No object event reaches ingest while Kafka is down, and MinIO holds them back for a while
    after: the runners beside the workers sweep the bound prefixes meanwhile. Not before Kafka
    was away, though (no reconcile sweep is set here)."""
    path = KafkaPath(stack["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"])
    with contextlib.closing(path.listening), deployment(Backfills, stack, tmp_path_factory.mktemp("outage"), "ou", RECONCILE.replace(f"{IN}-r", f"{IN}-o").replace(f"{OUT}-r", f"{OUT}-o"),
                    [], PASSWORD, {"front": "api", "worker": "worker"}, (f"{IN}-o", f"{OUT}-o"),
                    PRAVAH_KAFKA__BOOTSTRAP_SERVERS=path.address, PRAVAH_BATCH__OUTAGE_SWEEP_SECONDS="0.5") as d:
        s3 = s3_client()
        s3.put_bucket_notification_configuration(Bucket=f"{IN}-o", NotificationConfiguration={})  # no events: only sweeps make jobs
        db = d.env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]
        s3.put_object(Bucket=f"{IN}-o", Key="drop/before.log", Body=b"uploaded while Kafka is up\n")

        def worker_ready() -> bool:
            try:
                return httpx.get(d.ops("worker") + "/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(worker_ready, 60, "the worker")
        time.sleep(3)  # six probes of a Kafka that answers
        assert psql("SELECT count(*) FROM backfills", db=db) == "0", "a sweep while Kafka was up"

        path.cut()
        s3.put_object(Bucket=f"{IN}-o", Key="drop/during.log", Body=b"uploaded while Kafka is away\n")

        def finished() -> str | None:
            rows = psql("SELECT j.key, b.created_by, j.status FROM jobs j JOIN backfills b ON b.id = j.backfill_id ORDER BY j.key", db=db)
            return rows if rows.count("SUCCEEDED") == 2 else None

        rows = wait_for(finished, 180, "both objects' jobs to finish")
        assert rows.splitlines() == ["drop/before.log|bus-outage|SUCCEEDED", "drop/during.log|bus-outage|SUCCEEDED"]
        assert psql("SELECT count(*) FROM jobs", db=db) == "2", "one job per object, however many sweeps"


def test_a_page_the_engine_cannot_read_is_listed_with_boto3(stack: dict[str, str], bf: Backfills, monkeypatch: pytest.MonkeyPatch) -> None:
    """object_store refuses some keys S3 allows (`a//b`); such a page falls back to boto3, same order, same objects."""
    store = S3Store(S3Settings(endpoint=stack["PRAVAH_S3__ENDPOINT"], access_key=stack["PRAVAH_S3__ACCESS_KEY"],
                               secret_key=stack["PRAVAH_S3__SECRET_KEY"]))
    by_engine = [(o.key, o.size, o.etag) for o in objects(store, IN, "team/logs/", "team/logs/00100.log")]

    def refuse(*_a: object, **_k: object) -> None:
        raise engine.StorageError("Encountered object with invalid path")

    monkeypatch.setattr(engine, "list_page", refuse)
    by_boto = [(o.key, o.size, o.etag) for o in objects(store, IN, "team/logs/", "team/logs/00100.log")]
    assert by_boto == by_engine and len(by_engine) == MANY - 101


def test_reprocess_after_the_pipeline_changed(bf: Backfills, tmp_path) -> None:
    """team/small/'s 20 objects succeeded under gz; a new version of gz gets a job for each, once,
    only for the caller's objects; strangers 401, a read-only key 403."""
    changed = PIPELINES.replace("output: " + OUT + "/gz/{key}.gz", "output: " + OUT + "/gz2/{key}.gz")
    assert changed != PIPELINES
    (tmp_path / "v2.yaml").write_text(changed)
    bf.cli("apply", str(tmp_path / "v2.yaml"))
    ana, oz = bf.headers("ana@team.test"), bf.headers("oz@other.test")
    url = bf.api + "/v1/pipelines/gz/reprocess"
    assert httpx.post(url, json={}).status_code == 401
    key = httpx.post(bf.api + "/v1/keys", json={"name": "ro2", "scopes": ["read"]}, headers=ana).json()["key"]
    assert httpx.post(url, json={}, headers={"Authorization": f"Bearer {key}"}).status_code == 403
    assert httpx.post(bf.api + "/v1/pipelines/nope/reprocess", json={}, headers=ana).status_code == 404
    assert httpx.post(url, json={}, headers=oz).json()["considered"] == 0  # none of oz's objects went through gz
    assert httpx.post(url, json={"since": "0.5"}, headers=ana).status_code == 422
    r = bf.cli("reprocess", "gz", "--since", "1d")
    assert "20 job(s) made for objects an older version processed (20 considered, 0 had one already)" in r.stdout, r.stdout
    again = httpx.post(url, json={}, headers=ana).json()
    assert (again["considered"], again["created"]) == (0, 0)
    wait_for(lambda: s3_client().list_objects_v2(Bucket=OUT, Prefix="gz2/").get("KeyCount", 0) == 20, 120, "the new version's outputs")
