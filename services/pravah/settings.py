"""The one settings object (PRAVAH_ env vars, nested with __), validated at start-up."""

from __future__ import annotations

import re
from pathlib import Path

from typing import Literal

from pydantic import BaseModel, ByteSize, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from pravah.sizes import Bytes


class WorkerSettings(BaseModel):
    pool: str = Field("default", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Pool whose jobs `pravah serve worker` claims (a pipeline's "
                      "runtime.pool; `--pool` sets it too). Embedded mode's workers take every pool's jobs.")
    concurrency: int = Field(2, ge=1, le=64, description="Jobs run at once by one worker process (the engine releases the GIL).")
    lease_seconds: float = Field(30.0, gt=0, description="A claimed job is taken over by another worker after this long without a heartbeat.")
    poll_seconds: float = Field(0.1, gt=0, description="How often an idle worker looks for new jobs when nothing can wake it (SQLite; "
                                "PostgreSQL's LISTEN connection down).")
    recheck_seconds: float = Field(1.0, gt=0, description="With PostgreSQL's LISTEN up, a new or handed-back job wakes an idle worker at once; "
                                   "it still looks this often, for retries falling due and leases running out (each look is a claim query).")
    backoff_seconds: float = Field(2.0, ge=0, description="First retry delay; doubles with each attempt.")
    grace_seconds: float = Field(25.0, ge=0, description="On SIGTERM or SIGINT a worker stops claiming and gives its running jobs this long to "
                                 "finish; the others are stopped and handed back (PENDING at once, the attempt not counted) for another "
                                 "worker to take now, not after their lease. Keep it a few seconds under Kubernetes' terminationGracePeriodSeconds.")


class BatchSettings(BaseModel):
    lease_seconds: float = Field(30.0, gt=0, description="A backfill whose runner renews nothing for this long is resumed by another, at its cursor.")
    poll_seconds: float = Field(2.0, gt=0, description="How often an idle runner looks for a new backfill (PostgreSQL NOTIFY wakes it sooner).")
    reconcile_seconds: float = Field(0.0, ge=0, description="Every this many seconds, sweep each bound prefix for objects without a job (an event "
                                     "that never arrived) and make their jobs; 0 = off. A sweep lists the whole prefix: size it by the prefix.")
    outage_sweep_seconds: float = Field(2.0, ge=0, description="Server mode: while Kafka refuses connections, and for 15 s after it is back, sweep "
                                        "each bound prefix this often, so uploads become jobs without waiting for MinIO to redeliver (or, "
                                        "publishing directly, for the reconcile sweep to find) their events; 0 = off. Only once Kafka was reached.")


class WatcherSettings(BaseModel):
    poll_seconds: float = Field(0.5, gt=0, description="How often embedded mode scans the local buckets.")
    settle_seconds: float = Field(1.0, ge=0, description="A file must keep the same size and mtime this long before it counts as written.")


class ApiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the HTTP API binds to.")
    port: int = Field(8787, ge=0, le=65535, description="Port of the HTTP API (0 = do not serve).")
    public_url: str | None = Field(None, description="Base URL browsers and clients reach the API at (for links the API signs itself); default http://host:port.")
    cors_origins: list[str] = Field([], description='Origins allowed to call the API from a browser with credentials (JSON list), e.g. ["https://pravah.example.com"].')
    share_port: bool = Field(False, description="Bind with SO_REUSEPORT so several `pravah serve api` processes on one machine share the port "
                             "(the kernel spreads connections); on Kubernetes scale with replicas instead.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Also serve /metrics without credentials on this port (for a scraper inside the cluster); 0 = only the authenticated /metrics.")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class OpsSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address a process without the API (`pravah serve ingest|worker|relay`) serves its "
                      "/healthz, /readyz and /metrics on; on Kubernetes 0.0.0.0 (the NetworkPolicy lets in only Prometheus; the kubelet's probes come from the node).")
    port: int = Field(9100, ge=0, le=65535, description="Port of those routes, without credentials (0 = do not serve). Several such processes on "
                      "one machine need one port each. A process with the API serves them on the API's ports instead.")


SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class KubeSettings(BaseModel):
    namespace: str | None = Field(None, pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                                  description="Namespace the controller role keeps the worker pools in; default: its own pod's, else pravah.")
    kubeconfig: Path | None = Field(None, description="Kubeconfig the controller role talks to the API server with; default: the pod's service account.")
    interval_seconds: float = Field(30.0, gt=0, description="The controller also reconciles this often (drift; `pravah apply` wakes it at once).")

    def current_namespace(self) -> str:
        if self.namespace:
            return self.namespace
        try:
            return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
        except OSError:
            return "pravah"


class AuthSettings(BaseModel):
    mode: Literal["accounts", "open"] | None = Field(
        None, description="accounts: every /v1 call needs a user, key or token. open: no accounts, every caller is the local admin "
        "(allowed only on a loopback address). Default: open for `pravah up`, accounts for `pravah serve`.")
    secret_key: SecretStr | None = Field(None, description="Signs access tokens and the local store's URLs (HS256). Required by `serve`; "
                                         "`pravah up` makes one under home.")
    previous_keys: list[SecretStr] = Field([], description="Old signing keys, still accepted for verification while tokens they signed expire (rotation).")
    access_ttl_seconds: int = Field(900, ge=30, le=86400, description="Life of an access token.")
    refresh_ttl_seconds: int = Field(30 * 86400, ge=300, description="Life of a refresh token (each use replaces it).")
    slowdown_after: int = Field(3, ge=1, description="Failed sign-ins after which each further attempt must wait (1 s, doubling).")
    lockout_after: int = Field(10, ge=2, description="Failed sign-ins in a row that lock the account.")
    lockout_seconds: int = Field(900, ge=1, description="How long a locked account stays locked.")
    cookie_secure: bool = Field(False, description="Mark session cookies Secure (set it when the API is served over HTTPS).")


class UploadSettings(BaseModel):
    max_bytes: Bytes = Field(ByteSize(50 * 1024**3), description='Largest upload accepted, e.g. "50GiB".')
    expire_seconds: int = Field(24 * 3600, ge=60, description="Unfinished upload sessions are aborted after this long (MinIO drops stale parts after 24 h).")
    part_url_seconds: int = Field(3600, ge=60, le=7 * 86400, description="Life of a presigned part URL.")


class DryRunSettings(BaseModel):
    bucket: str | None = Field(None, description="Bucket dry-run outputs are written to, under _pravah/dry-runs/; default: the sample object's own bucket "
                               "(it exists and the caller may use it). No binding matches _pravah/ keys, and ingest ignores them.")
    ttl_seconds: int = Field(3600, ge=1, description="Dry-run outputs are deleted this long after they were written.")
    sweep_seconds: float = Field(60.0, ge=0, description="How often each API process deletes expired dry-run outputs (0 = never: sweep elsewhere).")
    max_input_bytes: Bytes = Field(ByteSize(64 * 1024**2), description='Largest sample object a dry-run reads, e.g. "64MiB" '
                                      "(the engine reads whole objects: a larger sample is refused with 413).")
    timeout_seconds: float = Field(60.0, gt=0, description="Longest a dry-run may run the engine (the pipeline's own timeout applies when shorter).")
    rows: int = Field(20, ge=1, le=200, description="Rows a dry-run shows when the caller does not say (at most 200).")
    concurrency: int = Field(1, ge=1, le=16, description="Dry-runs one process runs at once; more wait their turn (they share the API's cores).")


class KafkaSettings(BaseModel):
    bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka brokers, host:port[,host:port].")
    object_topic: str = Field("pravah.objects", description="Where MinIO/S3 publishes object events.")
    dead_letter_topic: str = Field("pravah.objects.dlq", description="Malformed event payloads go here, with the reason.")
    succeeded_topic: str = Field("pravah.jobs.succeeded", description="Completion events of succeeded jobs.")
    failed_topic: str = Field("pravah.jobs.failed", description="Completion events of failed jobs.")
    group_id: str = Field("pravah-ingest", description="Consumer group of the ingest processes.")
    batch_size: int = Field(500, ge=1, le=10000, description="Events ingested per database transaction, at most.")


class S3Settings(BaseModel):
    endpoint: str | None = Field(None, description="S3 endpoint URL (MinIO: http://host:9000); unset = AWS.")
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"
    notify_arn: str = Field("arn:minio:sqs::PRAVAH:kafka", description="Queue ARN bucket notifications are sent to (`pravah apply`).")
    notify_queue_dir: str | None = Field(
        None, description="`pravah apply --wire-minio`: MinIO keeps the events for Kafka in this folder (an absolute path on MinIO's host) "
        "and replays it every 3 s, so an event made while Kafka is down still arrives, 1.5 s later on average. Unset: MinIO publishes "
        "directly, with no added delay, and drops an event it cannot deliver (the reconcile sweep, PRAVAH_BATCH__RECONCILE_SECONDS, makes its job).")
    notify_queue_limit: int = Field(100_000, ge=1, description="Events MinIO's queue store holds at most (with notify_queue_dir).")
    notify_brokers: str | None = Field(None, description="Kafka brokers as MinIO reaches them, host:port[,host:port] (`--wire-minio`); "
                                       "default: PRAVAH_KAFKA__BOOTSTRAP_SERVERS.")
    presign_max_seconds: int = Field(3600, ge=1, le=7 * 24 * 3600, description="Longest expiry a presigned download may ask for.")
    public_endpoint: str | None = Field(None, description="Endpoint in presigned URLs handed to clients, when they reach the store by another address than Pravah does.")

    @field_validator("notify_queue_dir")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        if v and not v.startswith("/"):
            raise ValueError("expected an absolute path (a folder on MinIO's host)")
        return v or None  # empty: unset, direct


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class LogSettings(BaseModel):
    format: Literal["json", "text"] | None = Field(
        None, description="json: one JSON object per line (time, level, logger, message, and job_id, pipeline, trace_id, span_id while a job "
        "is handled), for a log collector. text: one readable line. Default: json for `pravah serve`, text for `pravah up`.")
    level: str = Field("INFO", description="Least severe level written: DEBUG, INFO, WARNING or ERROR (case does not matter).")

    @field_validator("level")
    @classmethod
    def _known_level(cls, v: str) -> str:
        if v.upper() not in LEVELS:
            raise ValueError(f"expected one of {', '.join(LEVELS)}")
        return v.upper()


class OtelSettings(BaseModel):
    endpoint: str | None = Field(
        None, description="OTLP/HTTP collector to send traces to, e.g. http://otel-collector:4318 (/v1/traces is added unless the URL "
        "ends with it). Unset: no spans are recorded or sent; trace ids are still made, logged and passed on.")
    service_name: str | None = Field(None, min_length=1, description="service.name of this process's spans; default pravah-ROLE "
                                     "(pravah-ingest, pravah-worker, …; pravah for several roles or `pravah up`).")
    sample_ratio: float = Field(1.0, ge=0, le=1, description="Share of new traces recorded (a trace begun upstream follows the upstream's decision).")
    headers: dict[str, SecretStr] = Field({}, description='Headers sent with every export (JSON object), e.g. {"authorization": "Bearer …"}.')

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", v):
            raise ValueError("expected an http:// or https:// URL")
        return v


class Tenant(BaseModel):
    """A bootstrap tenant: at start-up it is created (or updated) with an API key whose secret is `token`."""

    name: str = Field(min_length=1)
    token: str = Field(min_length=16, description="Secret of this tenant's bootstrap API key.")
    scopes: list[str] = Field(min_length=1, description='"bucket" or "bucket/prefix" this tenant may see.')
    inbox: str | None = Field(None, description="bucket/prefix uploads go to by default; default: the first scope.")
    rights: list[Literal["read", "write", "admin", "metrics"]] = Field(["read", "write"], description="What the bootstrap key may do.")


class Settings(BaseSettings):
    """Pravah's configuration. Embedded mode needs none of it."""

    model_config = SettingsConfigDict(env_prefix="PRAVAH_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(Path(".pravah"), description="Embedded mode's state: local buckets, SQLite database, events file.")
    database_url: str | None = Field(None, description="SQLAlchemy async URL; default is SQLite under home.")
    pipelines: Path = Field(Path("pipelines"), description="Pipeline YAML file, or a folder of them.")
    events_file: Path | None = Field(None, description="Where embedded mode appends completion events (JSON lines); default home/events.jsonl.")
    folders: dict[str, Path] = Field({}, description='Embedded mode: buckets that are folders anywhere, {"bucket": "/path"} (JSON); they are '
                                     "watched, backfilled and written like the buckets under home/data.")
    worker: WorkerSettings = WorkerSettings()
    watcher: WatcherSettings = WatcherSettings()
    api: ApiSettings = ApiSettings()
    ops: OpsSettings = OpsSettings()
    kube: KubeSettings = KubeSettings()
    batch: BatchSettings = BatchSettings()
    kafka: KafkaSettings = KafkaSettings()
    s3: S3Settings = S3Settings()
    auth: AuthSettings = AuthSettings()
    uploads: UploadSettings = UploadSettings()
    dry_run: DryRunSettings = DryRunSettings()
    log: LogSettings = LogSettings()
    otel: OtelSettings = OtelSettings()
    tenants: list[Tenant] = Field([], description="Bootstrap tenants (JSON list), each with an API key: created or updated at start-up.")

    @field_validator("folders")
    @classmethod
    def _folders_exist(cls, v: dict[str, Path]) -> dict[str, Path]:
        for bucket, path in v.items():
            if not bucket or "/" in bucket or bucket.startswith("."):
                raise ValueError(f"{bucket!r} is not a bucket name (no '/', not starting with '.')")
            if not path.is_dir():
                raise ValueError(f"bucket {bucket!r}: {path} is not a folder")
        return v

    @property
    def data_dir(self) -> Path:
        """Local buckets live here, one folder each (but those `folders` places elsewhere)."""
        return self.home / "data"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.home / 'pravah.db').resolve()}"

    @property
    def events_path(self) -> Path:
        return self.events_file or self.home / "events.jsonl"


class SettingsError(Exception):
    """A bad setting, explained in one line."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticSettingsError as e:  # a value that is not valid JSON for a list/object field
        field = re.search(r'field "(\w+)"', str(e))
        name = f"PRAVAH_{field.group(1).upper()}" if field else "a PRAVAH_ variable"
        raise SettingsError(f"bad setting {name}: not valid JSON ({e.__cause__ or e})") from None
    except ValidationError as e:
        first = e.errors()[0]
        name = "PRAVAH_" + "__".join(str(p).upper() for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")  # a validator's own message reads better without pydantic's prefix
        raise SettingsError(f"bad setting {name}: {msg} (got {first.get('input')!r})") from None
