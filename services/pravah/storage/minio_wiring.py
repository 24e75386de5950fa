"""MinIO's side of the event path, set through its admin API (`pravah apply --wire-minio`): the
Kafka notification target that PRAVAH_S3__NOTIFY_ARN names, direct or through MinIO's queue
store, so that a MinIO needs no MINIO_NOTIFY_KAFKA_* environment.

MinIO stores such a target at once but starts notification targets only when it starts
(notify_* is not among its dynamic subsystems): a new or changed target needs a restart, which
`--restart-minio` lets Pravah ask for (every node re-executes itself in place; S3 calls fail
for about a second). What MinIO's get-config answers is the configuration it runs, so
comparing it with ours tells whether anything is left to do: wiring twice changes nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pravah.settings import KafkaSettings, S3Settings
from pravah.storage.base import StoreError

T = TypeVar("T")
SUBSYS = "notify_kafka"
ARN = re.compile(r"arn:minio:sqs:(?P<region>[^:]*):(?P<id>[A-Za-z0-9_-]+):(?P<kind>[a-z]+)")


class WiringError(StoreError):
    """MinIO could not be wired; the message is one line saying what to fix."""


@dataclass(frozen=True)
class Target:
    """The Kafka target as Pravah wants it; queue_dir "" publishes directly."""

    id: str
    brokers: str
    topic: str
    queue_dir: str
    queue_limit: int

    @property
    def kvs(self) -> dict[str, str]:
        kvs = {"enable": "on", "brokers": self.brokers, "topic": self.topic, "queue_dir": self.queue_dir}
        return kvs | {"queue_limit": str(self.queue_limit)} if self.queue_dir else kvs  # a direct target has no store to bound

    @property
    def mode(self) -> str:
        return f"queue store {self.queue_dir}" if self.queue_dir else "direct"


@dataclass(frozen=True)
class Wired:
    target: Target
    changed: bool  # MinIO was running another configuration of the target (or none)
    restarted: bool
    online: bool  # MinIO reaches Kafka with it


def target_id(arn: str) -> str:
    m = ARN.fullmatch(arn)
    if not m or m["kind"] != "kafka":
        raise WiringError(f"PRAVAH_S3__NOTIFY_ARN is {arn!r}, not the ARN of a MinIO Kafka target (arn:minio:sqs::ID:kafka)")
    return m["id"]


def desired(s3: S3Settings, kafka: KafkaSettings) -> Target:
    return Target(target_id(s3.notify_arn), s3.notify_brokers or kafka.bootstrap_servers, kafka.object_topic,
                  s3.notify_queue_dir or "", s3.notify_queue_limit)


def parse_config(text: str, target: str) -> tuple[dict[str, str] | None, dict[str, str]]:
    """get-config's answer for notify_kafka → (the target's keys, or None when MinIO runs no such
    target; the keys MinIO's environment sets for it, which win over stored configuration).
    MinIO writes a target's environment as comment lines just before the target's own line."""
    kvs, env, pending = None, {}, {}
    for line in text.splitlines():
        if line.startswith("# MINIO_NOTIFY_KAFKA_"):
            name, _, value = line[2:].partition("=")
            pending[name] = value
        elif line.startswith(SUBSYS):
            fields = shlex.split(line)
            if fields[0] == f"{SUBSYS}:{target}":
                kvs = {"enable": "on"} | {k: v for k, _, v in (f.partition("=") for f in fields[1:])}  # get-config leaves enable=on out
                env = {n.removeprefix("MINIO_NOTIFY_KAFKA_").removesuffix(f"_{target}").lower(): v for n, v in pending.items()}
            pending = {}
    return kvs, env


class Admin:
    """The few admin calls wiring makes; every failure becomes one WiringError line."""

    def __init__(self, s3: S3Settings, timeout: float = 15.0):
        import urllib3
        from minio import MinioAdmin
        from minio.credentials.providers import StaticProvider

        if not s3.endpoint:
            raise WiringError("--wire-minio needs MinIO's address in PRAVAH_S3__ENDPOINT (AWS S3 has no admin API)")
        url = urlsplit(s3.endpoint)
        self.endpoint = s3.endpoint
        # The SDK's own pool retries 5 times over 5-minute timeouts: an unreachable MinIO would hang the command.
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=timeout), maxsize=2,
                                   retries=urllib3.Retry(total=1, backoff_factor=0.2, status_forcelist=[502, 503, 504]))
        self.client = MinioAdmin(endpoint=url.netloc, credentials=StaticProvider(s3.access_key or "", s3.secret_key or ""),
                                 region=s3.region, secure=url.scheme == "https", http_client=http)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as e:
            raise WiringError(self.explain(what, e)) from None

    def explain(self, what: str, e: BaseException) -> str:
        from minio.error import MinioAdminException
        from urllib3.exceptions import HTTPError, MaxRetryError

        seen: BaseException | None = e
        while seen is not None:  # minio 7.2's config_get hides the real error behind an UnboundLocalError
            if isinstance(seen, MinioAdminException):
                code, message = _admin_error(seen)
                if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
                    return f"MinIO at {self.endpoint} refused PRAVAH_S3__ACCESS_KEY / PRAVAH_S3__SECRET_KEY ({code}): --wire-minio needs an administrator's keys"
                if code == "AccessDenied":
                    return f"MinIO at {self.endpoint} does not let PRAVAH_S3__ACCESS_KEY {what} (AccessDenied): --wire-minio needs an administrator's keys"
                return f"MinIO at {self.endpoint} could not {what}: {message}"
            if isinstance(seen, MaxRetryError):
                return f"cannot reach MinIO's admin API at {self.endpoint}: {str(seen.reason).rsplit(': ', 1)[-1]}"
            if isinstance(seen, (HTTPError, OSError)):
                return f"cannot reach MinIO's admin API at {self.endpoint}: {seen}"
            seen = seen.__context__
        return f"MinIO at {self.endpoint} could not {what}: {e}"

    def info(self) -> dict[str, Any]:
        return dict(json.loads(self.call("read its server info", self.client.info)))

    def running(self, target: str) -> tuple[dict[str, str] | None, dict[str, str]]:
        return parse_config(self.call("show its Kafka targets", lambda: self.client.config_get(SUBSYS)), target)

    def store(self, t: Target) -> None:
        kvs = {k: f'"{v}"' for k, v in t.kvs.items()}  # quoted: the SDK joins key=value with spaces, and "" is how to clear a key
        self.call(f"store Kafka target {t.id} (brokers {t.brokers}, as MinIO reaches them)", lambda: self.client.config_set(f"{SUBSYS}:{t.id}", kvs))

    def restart(self) -> None:
        self.call("restart", self.client.service_restart)


def live_status(info: dict[str, Any], target: str) -> str | None:
    """'online' or 'offline' when MinIO runs the Kafka target `target`, else None."""
    for group in info.get("services", {}).get("notifications") or []:
        for entry in group.get("kafka", []):
            if target in entry:
                return str(entry[target].get("status", "")).lower()
    return None


def known_arns(s3: S3Settings) -> list[str] | None:
    """The notification targets MinIO runs (None when its admin API cannot say), for naming them
    next to an ARN MinIO refused."""
    try:
        return list(Admin(s3, timeout=5).info().get("sqsARN") or [])
    except StoreError:
        return None


def runs(want: Target, kvs: dict[str, str] | None, env: dict[str, str]) -> bool:
    """Whether MinIO runs the target as wanted (its environment over its stored keys, as MinIO reads them)."""
    return kvs is not None and all({**kvs, **env}.get(k) == v for k, v in want.kvs.items())


def wire(s3: S3Settings, kafka: KafkaSettings, *, restart: bool, wait: float = 60.0) -> Wired:
    """Make MinIO run the Kafka target Pravah's settings describe; restart it when it must and
    `restart` allows, else say so."""
    want = desired(s3, kafka)
    admin = Admin(s3)
    admin.info()  # unreachable or refused: said here, before anything changes
    kvs, env = admin.running(want.id)
    if runs(want, kvs, env):
        return Wired(want, changed=False, restarted=False, online=live_status(admin.info(), want.id) == "online")
    clash = sorted(k for k, v in want.kvs.items() if k in env and env[k] != v)
    if clash:
        names = ", ".join(f"MINIO_NOTIFY_KAFKA_{k.upper()}_{want.id}" for k in clash)
        raise WiringError(f"MinIO's environment sets {names} for target {want.id}, which wins over its admin API: "
                          "drop them from MinIO's environment, or leave the target to it and apply without --wire-minio")
    admin.store(want)
    if not restart:
        raise WiringError(f"MinIO stored Kafka target {want.id} ({want.mode} to {want.topic}) but starts it only when it restarts: "
                          "add --restart-minio to restart it now (S3 calls fail for about a second), or restart it yourself and apply again")
    admin.restart()
    deadline = time.monotonic() + wait
    while True:
        time.sleep(0.2)
        try:  # while it restarts, MinIO refuses connections or answers 503
            kvs, env = admin.running(want.id)
            status = live_status(admin.info(), want.id)
        except WiringError:
            kvs, status = None, None
        if status and runs(want, kvs, env):
            return Wired(want, changed=True, restarted=True, online=status == "online")
        if time.monotonic() > deadline:
            raise WiringError(f"MinIO at {s3.endpoint} did not come back running Kafka target {want.id} within {wait:.0f} s of its restart")


def _admin_error(e: Any) -> tuple[str, str]:
    """(Code, Message) of an admin API error body (JSON); the raw text when it is not JSON."""
    body = getattr(e, "_body", "") or ""
    try:
        doc = json.loads(body)
        return str(doc.get("Code", "")), str(doc.get("Message", "")).strip()
    except ValueError:
        return str(getattr(e, "_code", "")), body.strip()[:200]
