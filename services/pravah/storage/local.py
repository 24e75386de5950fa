"""Embedded mode's store: each bucket is a folder under `root`. Multipart uploads keep their
parts under `staging` until complete() joins them and renames the result into place (the
watcher ignores dot-files, so it sees the file only whole). URLs for clients point at the
embedded API's /store routes, signed with an HMAC and an expiry instead of S3 credentials."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

from pravah.storage.base import ObjectInfo, Part, StoreError


def local_etag(st: os.stat_result) -> str:
    """What identifies a local file's content: size and mtime (the watcher uses the same)."""
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


class Signer(Protocol):  # what this store needs of accounts.tokens.Signer
    def sign(self, message: str) -> str: ...
    def check(self, message: str, signature: str) -> bool: ...


def part_message(upload_id: str, number: int, expires: int, max_size: int) -> str:
    return f"PUT\n{upload_id}\n{number}\n{expires}\n{max_size}"


def object_message(bucket: str, key: str, expires: int, filename: str) -> str:
    return f"GET\n{bucket}\n{key}\n{expires}\n{filename}"


@dataclass
class LocalStore:
    root: Path
    staging: Path | None = None
    signer: Signer | None = None
    base_url: str = "http://127.0.0.1:8787"
    options: dict[str, str] = field(default_factory=dict)
    presign_max_seconds: int = 3600
    # Buckets that are folders elsewhere (PRAVAH_FOLDERS); the others are root/<bucket>.
    folders: dict[str, Path] = field(default_factory=dict)

    def uri(self, bucket: str, key: str) -> str:
        return str((self.bucket_path(bucket) / key).resolve())

    def bucket_path(self, bucket: str) -> Path:
        return self.folders.get(bucket) or self.root / bucket

    def path(self, bucket: str, key: str) -> Path:
        """The file of bucket/key, refusing keys that would leave the bucket's folder."""
        base = self.bucket_path(bucket).resolve()
        p = (base / key).resolve()
        if not bucket or "/" in bucket or bucket.startswith(".") or not p.is_relative_to(base) or p == base:
            raise StoreError(f"{bucket}/{key} is not a key inside bucket {bucket!r}")
        return p

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            st = self.path(bucket, key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return ObjectInfo(st.st_size, local_etag(st), None, datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC))

    def delete_processed(self, bucket: str, key: str, etag: str, version_id: str | None) -> bool:
        """Delete the file a job processed, only while it is unchanged (same size and time)."""
        p = self.path(bucket, key)
        try:
            if local_etag(p.stat()) != etag:
                return False
            p.unlink()
        except FileNotFoundError:
            return False
        return True

    def _signer(self) -> Signer:
        if self.signer is None:
            raise StoreError("this local store signs no URLs (no signing key configured)")
        return self.signer

    def presign_get(self, bucket: str, key: str, expires: int, filename: str | None = None) -> str:
        exp = int(time.time()) + max(1, min(expires, self.presign_max_seconds))
        name = filename or key.rsplit("/", 1)[-1]
        sig = self._signer().sign(object_message(bucket, key, exp, name))
        return f"{self.base_url}/store/objects/{quote(bucket)}/{quote(key)}?" + urlencode({"expires": exp, "name": name, "sig": sig})

    # ---------------------------------------------------------------- multipart

    def _dir(self, upload_id: str) -> Path:
        if self.staging is None:
            raise StoreError("this local store takes no uploads (no staging folder)")
        if not upload_id.isalnum():
            raise StoreError(f"bad upload id {upload_id!r}")
        return self.staging / upload_id

    def create_multipart(self, bucket: str, key: str, content_type: str | None) -> str:
        self.path(bucket, key)  # the key must be valid before anything is stored
        upload_id = uuid.uuid4().hex
        self._dir(upload_id).mkdir(parents=True)
        (self._dir(upload_id) / "target").write_text(f"{bucket}\n{key}")
        return upload_id

    def presign_part(self, bucket: str, key: str, upload_id: str, number: int, expires: int, max_size: int) -> str:
        exp = int(time.time()) + expires
        sig = self._signer().sign(part_message(upload_id, number, exp, max_size))
        return f"{self.base_url}/store/parts/{upload_id}/{number}?" + urlencode({"expires": exp, "max": max_size, "sig": sig})

    def part_paths(self, upload_id: str, number: int) -> tuple[Path, Path]:
        """(temporary path, final path) of a part; the caller streams into the first, then renames."""
        d = self._dir(upload_id)
        if not (d / "target").exists():
            raise StoreError(f"no upload {upload_id} (completed, aborted or expired)")
        return d / f".{number}.{uuid.uuid4().hex[:8]}.tmp", d / f"{number:05d}.part"

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part] | None:
        d = self._dir(upload_id)
        if not (d / "target").exists():
            return None
        parts = []
        for f in sorted(d.glob("*.part")):
            st = f.stat()
            parts.append(Part(int(f.name.split(".")[0]), st.st_size, local_etag(st)))
        return parts

    def complete_multipart(self, bucket: str, key: str, upload_id: str, parts: list[Part]) -> ObjectInfo:
        d = self._dir(upload_id)
        dst = self.path(bucket, key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.{upload_id}.tmp")
        with tmp.open("wb") as out:
            for p in parts:
                with (d / f"{p.number:05d}.part").open("rb") as f:
                    while chunk := f.read(1 << 20):
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        st = tmp.stat()  # a rename keeps size and mtime: this is the object's identity
        tmp.replace(dst)
        shutil.rmtree(d, ignore_errors=True)
        return ObjectInfo(st.st_size, local_etag(st), None, datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC))

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        shutil.rmtree(self._dir(upload_id), ignore_errors=True)
