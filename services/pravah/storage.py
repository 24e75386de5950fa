"""Where buckets live: folders under a local root (embedded mode) or an S3 endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LocalStore:
    """Each bucket is a folder under `root`; keys are relative paths inside it."""

    root: Path
    options: dict[str, str] = field(default_factory=dict)

    def uri(self, bucket: str, key: str) -> str:
        return str((self.root / bucket / key).resolve())

    def bucket_path(self, bucket: str) -> Path:
        return self.root / bucket
