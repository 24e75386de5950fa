"""Objects under a prefix in key order, after a cursor: S3 (ListObjectsV2 pages with StartAfter)
or a local bucket folder (a sorted walk in the same order, skipping whole folders before the
cursor), so a backfill can resume from the last key it committed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pravah import engine
from pravah.storage import LocalStore, S3Store, StoreError
from pravah.storage.local import local_etag

PAGE = 1000  # S3's most keys per listing call


@dataclass(frozen=True)
class Listed:
    key: str
    size: int
    etag: str
    version_id: str | None
    last_modified: datetime


def objects(store: LocalStore | S3Store, bucket: str, prefix: str, after: str | None) -> Iterator[Listed]:
    if isinstance(store, S3Store):
        return _s3(store, bucket, prefix, after)
    return _local(store, bucket, prefix, after)


def _s3(store: S3Store, bucket: str, prefix: str, after: str | None) -> Iterator[Listed]:
    """Pages listed by the engine (8× boto3's rate here: bench/results-scan.md), GIL released. A
    page the engine cannot read (object_store refuses some keys, e.g. `a//b`) is listed with boto3."""
    root = f"s3://{bucket}/{prefix}"
    while True:
        try:
            page, more = engine.list_page(root, after, max_keys=PAGE, storage_options=store.options)
            got = [Listed(o["key"], o["size"], o["etag"] or "", None, datetime.fromtimestamp(o["modified_ms"] / 1000, UTC)) for o in page]
        except engine.NotFoundError:
            raise StoreError(f"no bucket {bucket!r}") from None
        except engine.EngineError:
            got, more = _boto_page(store, bucket, prefix, after)
        yield from got
        if not more or not got:
            return
        after = got[-1].key


def _boto_page(store: S3Store, bucket: str, prefix: str, after: str | None) -> tuple[list[Listed], bool]:
    try:
        r = store.client.list_objects_v2(Bucket=bucket, Prefix=prefix, StartAfter=after or "", MaxKeys=PAGE)
    except Exception as e:
        if "NoSuchBucket" in str(e):
            raise StoreError(f"no bucket {bucket!r}") from None
        raise StoreError(f"cannot list s3://{bucket}/{prefix}: {e}") from None
    got = [Listed(o["Key"], o["Size"], o["ETag"].strip('"'), None, o["LastModified"]) for o in r.get("Contents", [])]
    return got, bool(r.get("IsTruncated"))


def _local(store: LocalStore, bucket: str, prefix: str, after: str | None) -> Iterator[Listed]:
    root = store.bucket_path(bucket)
    if not root.is_dir():
        raise StoreError(f"no bucket {bucket!r} (no folder {root})")
    start = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""  # the deepest folder the prefix names whole
    yield from _walk(root / start, start, prefix, after or "")


def _walk(folder: Path, base: str, prefix: str, after: str) -> Iterator[Listed]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    # Key order: a folder sorts as "name/", so its keys fall where S3 would put them.
    items = sorted(((e.name + "/" if e.is_dir(follow_symlinks=False) else e.name), e) for e in entries)
    for name, e in items:
        key = base + name
        if not (key.startswith(prefix) or prefix.startswith(key)):
            continue
        if name.endswith("/"):
            if after and key < after and not after.startswith(key):
                continue  # every key inside sorts before the cursor
            yield from _walk(Path(e.path), key, prefix, after)
        elif key > after and key.startswith(prefix) and e.is_file(follow_symlinks=False):
            st = e.stat(follow_symlinks=False)
            yield Listed(key, st.st_size, local_etag(st), None, datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC))
