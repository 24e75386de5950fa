"""`pravah apply --wire-minio` on a MinIO of this module's own, started with no MINIO_NOTIFY_*
environment: the admin API makes its Kafka target (restarting it, which MinIO needs to start a
target), uploads then reach Kafka; wiring twice changes nothing; a new topic and a switch
between direct and the queue store follow the settings; each refusal is one line. The stack's
own MinIO, whose target comes from its environment, is only read."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

import stack as services
from pravah.settings import KafkaSettings, S3Settings
from pravah.storage import minio_wiring
from pravah.storage.minio_wiring import WiringError, wire

from .conftest import PRAVAH, RUN, free_port, own_database, read_topic

BUCKET = f"wired-{RUN}"
USER, PASSWORD = "wiring-root", "wiring-root-secret"
PIPELINES = f"""
pipelines:
  - name: gz
    steps: [gzip]
    output: {BUCKET}-out/{{key}}.gz
bindings:
  - {{bucket: {BUCKET}, prefix: in/, pipeline: gz}}
"""


@dataclass
class Minio:
    endpoint: str
    proc: subprocess.Popen

    def s3(self, **kw: object) -> S3Settings:
        return S3Settings(**{"endpoint": self.endpoint, "access_key": USER, "secret_key": PASSWORD} | kw)  # type: ignore[arg-type]

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=USER, aws_secret_access_key=PASSWORD, region_name="us-east-1")

    def running(self) -> dict[str, str]:
        """The keys of Kafka target PRAVAH as MinIO runs them (its get-config)."""
        kvs, _ = minio_wiring.parse_config(minio_wiring.Admin(self.s3()).client.config_get("notify_kafka"), "PRAVAH")
        assert kvs is not None
        return kvs

    def pravah(self, stack: dict[str, str], database_url: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
        """`pravah ARGS` pointed at this MinIO and the stack's Kafka; `settings`: more PRAVAH_* variables."""
        env = {**os.environ, **stack, "PRAVAH_DATABASE_URL": database_url, "PRAVAH_S3__ENDPOINT": self.endpoint,
               "PRAVAH_S3__ACCESS_KEY": USER, "PRAVAH_S3__SECRET_KEY": PASSWORD, **settings}
        return subprocess.run([str(PRAVAH), *args], env=env, capture_output=True, text=True, timeout=120)


def ready(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/minio/health/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def minio(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Minio]:
    data = tmp_path_factory.mktemp("minio")
    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIO_")} | {
        "MINIO_ROOT_USER": USER, "MINIO_ROOT_PASSWORD": PASSWORD, "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"}
    with (data.parent / "minio.log").open("ab") as log:
        proc = subprocess.Popen([str(services.minio_bin()), "server", str(data / "data"), "--quiet", "--address", endpoint.removeprefix("http://")],
                                env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not ready(endpoint):
            assert proc.poll() is None and time.monotonic() < deadline, "the private MinIO did not start"
            time.sleep(0.05)
        m = Minio(endpoint, proc)
        m.client().create_bucket(Bucket=BUCKET)
        yield m
    finally:
        services.stop(proc)


def kafka(stack: dict[str, str], topic: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=stack["PRAVAH_KAFKA__BOOTSTRAP_SERVERS"], object_topic=topic)


def fresh_topic() -> str:
    return f"wired-{RUN}-{uuid.uuid4().hex[:6]}"


def event_for(stack: dict[str, str], topic: str, key: str, timeout: float = 15) -> dict:
    want = f"{BUCKET}/{key}".encode()
    records = read_topic(stack, topic, lambda rs: any(r.key == want for r in rs), timeout)
    found = [json.loads(r.value) for r in records if r.key == want]
    assert found, f"no event for {key} on {topic}"
    return found[0]


@pytest.fixture(scope="module")
def database(stack: dict[str, str]) -> Iterator[str]:
    with own_database(stack, f"wiring_{RUN}") as url:
        yield url


def test_apply_wires_minio_and_uploads_reach_kafka(stack: dict[str, str], minio: Minio, database: str, tmp_path: Path) -> None:
    topic = fresh_topic()
    (tmp_path / "p.yaml").write_text(PIPELINES)
    r = minio.pravah(stack, database, "apply", str(tmp_path / "p.yaml"), "--wire-minio", "--restart-minio", PRAVAH_KAFKA__OBJECT_TOPIC=topic)
    assert r.returncode == 0, r.stderr
    assert f"direct, topic {topic}" in r.stdout and "(restarted MinIO to start it)" in r.stdout
    assert f"bucket {BUCKET}: 1 notification rule(s)" in r.stdout
    minio.client().put_object(Bucket=BUCKET, Key="in/a b.csv", Body=b"x,y\n1,2\n")
    assert event_for(stack, topic, "in/a b.csv")["EventName"] == "s3:ObjectCreated:Put"


def test_wiring_follows_the_settings_and_twice_changes_nothing(stack: dict[str, str], minio: Minio, tmp_path: Path) -> None:
    s3, topic = minio.s3(), fresh_topic()
    with pytest.raises(WiringError, match="stored Kafka target PRAVAH .* but starts it only when it restarts: add --restart-minio"):
        wire(s3, kafka(stack, topic), restart=False)
    assert minio.running()["topic"] != topic  # stored, but MinIO runs what it started with
    w = wire(s3, kafka(stack, topic), restart=True)
    assert (w.changed, w.restarted, w.online, w.target.mode) == (True, True, True, "direct") and minio.running()["topic"] == topic

    queued = minio.s3(notify_queue_dir=str(tmp_path / "queue store"), notify_queue_limit=500)  # a space: quoted on the way in
    w = wire(queued, kafka(stack, topic), restart=True)
    assert (w.changed, w.restarted, w.target.mode) == (True, True, f"queue store {tmp_path / 'queue store'}")
    assert (minio.running()["queue_dir"], minio.running()["queue_limit"]) == (str(tmp_path / "queue store"), "500")
    rule = {"QueueConfigurations": [{"Id": "pravah-0", "QueueArn": s3.notify_arn, "Events": ["s3:ObjectCreated:*"]}]}
    minio.client().put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration=rule)
    minio.client().put_object(Bucket=BUCKET, Key="queued.txt", Body=b"q")
    assert event_for(stack, topic, "queued.txt")["Key"] == f"{BUCKET}/queued.txt"  # replayed from the store within 3 s
    assert wire(queued, kafka(stack, topic), restart=True).changed is False

    w = wire(s3, kafka(stack, topic), restart=True)  # back to direct
    assert (w.changed, w.restarted) == (True, True) and minio.running()["queue_dir"] == ""
    assert wire(s3, kafka(stack, topic), restart=False) == minio_wiring.Wired(w.target, changed=False, restarted=False, online=True)


def test_refusals_are_one_line(stack: dict[str, str], minio: Minio) -> None:
    k = kafka(stack, fresh_topic())
    minio_wiring.Admin(minio.s3()).client.user_add("plain-user", "plain-user-secret")  # no policy: no admin rights
    cases = [
        (minio.s3(notify_arn="arn:minio:sqs::PRAVAH:kafak"), "PRAVAH_S3__NOTIFY_ARN is 'arn:minio:sqs::PRAVAH:kafak', not the ARN of a MinIO Kafka target"),
        (minio.s3(notify_arn="PRAVAH"), "PRAVAH_S3__NOTIFY_ARN is 'PRAVAH', not the ARN"),
        (minio.s3(secret_key="not-the-secret"), "refused PRAVAH_S3__ACCESS_KEY / PRAVAH_S3__SECRET_KEY (SignatureDoesNotMatch)"),
        (minio.s3(access_key="nobody"), "refused PRAVAH_S3__ACCESS_KEY / PRAVAH_S3__SECRET_KEY (InvalidAccessKeyId)"),
        (minio.s3(access_key="plain-user", secret_key="plain-user-secret"), "does not let PRAVAH_S3__ACCESS_KEY read its server info (AccessDenied)"),
        (minio.s3(endpoint=f"http://127.0.0.1:{free_port()}"), "cannot reach MinIO's admin API at http://127.0.0.1:"),
        (minio.s3(endpoint=None), "--wire-minio needs MinIO's address in PRAVAH_S3__ENDPOINT"),
        (minio.s3(notify_brokers=f"127.0.0.1:{free_port()}"), "client has run out of available brokers"),
    ]
    for s3, message in cases:
        with pytest.raises(WiringError) as e:
            wire(s3, k, restart=True)
        assert message in str(e.value) and "\n" not in str(e.value)


def test_a_mistyped_arn_is_one_line(stack: dict[str, str], minio: Minio, database: str, tmp_path: Path) -> None:
    """Plain `pravah apply` (no wiring) names the ARN MinIO does not run, and the ones it does."""
    (tmp_path / "p.yaml").write_text(PIPELINES.replace("prefix: in/", "prefix: typo/"))
    r = minio.pravah(stack, database, "apply", str(tmp_path / "p.yaml"), PRAVAH_S3__NOTIFY_ARN="arn:minio:sqs::PRAVHA:kafka")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "no notification target arn:minio:sqs::PRAVHA:kafka (it runs arn:minio:sqs::PRAVAH:kafka)" in r.stderr
    assert "InvalidArgument" not in r.stderr


def test_the_stack_minio_keeps_its_environment(stack: dict[str, str]) -> None:
    """The stack's MinIO takes its target from MINIO_NOTIFY_KAFKA_*_PRAVAH: the same settings
    are already wired; others are refused before anything is stored, since the environment wins."""
    s3 = S3Settings(endpoint=stack["PRAVAH_S3__ENDPOINT"], access_key=stack["PRAVAH_S3__ACCESS_KEY"], secret_key=stack["PRAVAH_S3__SECRET_KEY"],
                    notify_queue_dir=str(services.STATE / "minio-queue"), notify_queue_limit=1_000_000)
    assert wire(s3, kafka(stack, services.OBJECT_TOPIC), restart=False).changed is False
    with pytest.raises(WiringError, match="environment sets MINIO_NOTIFY_KAFKA_QUEUE_DIR_PRAVAH, MINIO_NOTIFY_KAFKA_TOPIC_PRAVAH for target PRAVAH"):
        wire(s3.model_copy(update={"notify_queue_dir": None}), kafka(stack, fresh_topic()), restart=True)
