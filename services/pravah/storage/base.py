"""The interface both stores implement, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class StoreError(Exception):
    """The store refused or could not do it; the message names bucket and key."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    version_id: str | None
    last_modified: datetime


@dataclass(frozen=True)
class Part:
    number: int
    size: int
    etag: str


class Store(Protocol):
    options: dict[str, str]

    def uri(self, bucket: str, key: str) -> str: ...
    def head(self, bucket: str, key: str) -> ObjectInfo | None: ...
    def delete_processed(self, bucket: str, key: str, etag: str, version_id: str | None) -> bool: ...
    def presign_get(self, bucket: str, key: str, expires: int, filename: str | None = None) -> str: ...
    def create_multipart(self, bucket: str, key: str, content_type: str | None) -> str: ...
    def presign_part(self, bucket: str, key: str, upload_id: str, number: int, expires: int, max_size: int) -> str: ...
    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part] | None: ...
    def complete_multipart(self, bucket: str, key: str, upload_id: str, parts: list[Part]) -> ObjectInfo: ...
    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None: ...
