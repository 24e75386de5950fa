"""Where buckets live: folders under a local root (embedded mode) or an S3 endpoint (MinIO).
The engine reads and writes both through object_store; `uri` and `options` are what it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from pravah.settings import S3Settings


class Store(Protocol):
    options: dict[str, str]

    def uri(self, bucket: str, key: str) -> str: ...


@dataclass(frozen=True)
class LocalStore:
    """Each bucket is a folder under `root`; keys are relative paths inside it."""

    root: Path
    options: dict[str, str] = field(default_factory=dict)

    def uri(self, bucket: str, key: str) -> str:
        return str((self.root / bucket / key).resolve())

    def bucket_path(self, bucket: str) -> Path:
        return self.root / bucket


class S3Store:
    """An S3 endpoint: the engine gets s3:// URIs with object_store options; the service
    side (notification configuration, presigned downloads) uses boto3."""

    def __init__(self, cfg: S3Settings):
        self.cfg = cfg
        opts = {"region": cfg.region}
        if cfg.endpoint:
            opts["endpoint"] = cfg.endpoint
            opts["allow_http"] = str(cfg.endpoint.startswith("http://")).lower()
        if cfg.access_key and cfg.secret_key:
            opts |= {"access_key_id": cfg.access_key, "secret_access_key": cfg.secret_key}
        self.options = opts

    def uri(self, bucket: str, key: str) -> str:
        return f"s3://{bucket}/{key}"

    @cached_property
    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.cfg.endpoint,
            aws_access_key_id=self.cfg.access_key,
            aws_secret_access_key=self.cfg.secret_key,
            region_name=self.cfg.region,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 3}),
        )

    def presign(self, bucket: str, key: str, expires: int) -> str:
        """A GET URL for one object; `expires` is capped by configuration."""
        expires = max(1, min(expires, self.cfg.presign_max_seconds))
        return self.client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)
