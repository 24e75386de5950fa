"""Where dry-run outputs live and how they go away: `_pravah/dry-runs/<expiry>-<id>/` in a
bucket (routing reserves `_pravah/`, so no binding takes these keys and ingest ignores their
events). The expiry is in the name, so a sweep needs no database: it lists the prefix in every
bucket and deletes the runs whose time has passed. Calls block: run them off the event loop."""

from __future__ import annotations

import logging
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pravah.routing import RESERVED_PREFIX
from pravah.storage import LocalStore, S3Store, Store, StoreError

log = logging.getLogger("pravah.dryrun")

PREFIX = RESERVED_PREFIX + "dry-runs/"
STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Scratch:
    """One dry-run's folder."""

    bucket: str
    id: str  # <expiry stamp>-<random hex>
    expires_at: datetime

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.id}/"

    def key(self, name: str) -> str:
        return self.prefix + name


def new(bucket: str, ttl_seconds: int, now: datetime | None = None) -> Scratch:
    expires = (now or datetime.now(UTC)) + timedelta(seconds=ttl_seconds)
    expires = expires.replace(microsecond=0) + timedelta(seconds=1)  # the stamp has whole seconds: never earlier than promised
    return Scratch(bucket, f"{expires.strftime(STAMP)}-{secrets.token_hex(6)}", expires)


def expiry(run_id: str) -> datetime | None:
    """When the run named `run_id` expires; None for a name this module did not make."""
    try:
        return datetime.strptime(run_id.split("-", 1)[0], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


# ------------------------------------------------------------------ object I/O, both stores


def read_range(store: Store, bucket: str, key: str, start: int, length: int) -> bytes:
    """Up to `length` bytes from `start` (a negative start counts from the end)."""
    if isinstance(store, LocalStore):
        with store.path(bucket, key).open("rb") as f:
            if start < 0:
                f.seek(max(0, f.seek(0, 2) + start))
            else:
                f.seek(start)
            return f.read(length)
    if isinstance(store, S3Store):
        rng = f"bytes={start}" if start < 0 else f"bytes={start}-{start + length - 1}"
        try:
            return store.client.get_object(Bucket=bucket, Key=key, Range=rng)["Body"].read()
        except Exception as e:
            raise StoreError(f"cannot read s3://{bucket}/{key}: {e}") from None
    raise StoreError(f"dry-runs cannot read from a {type(store).__name__}")


def delete_run(store: Store, bucket: str, prefix: str) -> None:
    """Everything under one run's prefix."""
    if isinstance(store, LocalStore):
        shutil.rmtree(store.path(bucket, prefix.rstrip("/")), ignore_errors=True)
        return
    if isinstance(store, S3Store):
        try:
            for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    store.client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        except Exception as e:
            raise StoreError(f"cannot delete s3://{bucket}/{prefix}: {e}") from None
        return
    raise StoreError(f"dry-runs cannot delete from a {type(store).__name__}")


def delete_keys(store: Store, bucket: str, keys: list[str]) -> None:
    """Best effort: a key that is not there is fine."""
    if isinstance(store, LocalStore):
        for key in keys:
            store.path(bucket, key).unlink(missing_ok=True)
    elif isinstance(store, S3Store) and keys:
        try:
            store.client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        except Exception as e:
            raise StoreError(f"cannot delete from s3://{bucket}: {e}") from None


def _buckets(store: Store) -> list[str]:
    if isinstance(store, LocalStore):
        return sorted(p.name for p in store.root.iterdir() if p.is_dir() and not p.name.startswith(".")) if store.root.is_dir() else []
    if isinstance(store, S3Store):
        return [b["Name"] for b in store.client.list_buckets().get("Buckets", [])]
    return []


def _runs(store: Store, bucket: str) -> list[str]:
    """The run ids under PREFIX in `bucket`."""
    if isinstance(store, LocalStore):
        base = store.root / bucket / PREFIX
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    if isinstance(store, S3Store):
        out: list[str] = []
        for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX, Delimiter="/"):
            out += [p["Prefix"][len(PREFIX) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return out
    return []


def sweep(store: Store, bucket: str | None = None, now: datetime | None = None) -> int:
    """Delete every expired run (in `bucket`, or in every bucket the store holds); how many."""
    now = now or datetime.now(UTC)
    deleted = 0
    for b in [bucket] if bucket else _buckets(store):
        try:
            runs = _runs(store, b)
        except Exception as e:  # a bucket that vanished or that these credentials cannot list
            log.debug("dry-run sweep: cannot list %s: %s", b, e)
            continue
        for run_id in runs:
            at = expiry(run_id)
            if at is not None and at <= now:
                delete_run(store, b, f"{PREFIX}{run_id}/")
                deleted += 1
    return deleted


async def keep_sweeping(store: Store, bucket: str | None, every: float) -> None:
    """Sweep every `every` seconds until cancelled (a failed sweep is tried again later); every
    API process runs this (api/serve.py). 0 = never: the sweep runs elsewhere."""
    import anyio

    if every <= 0:
        return
    while True:
        await anyio.sleep(every)  # not at start-up: nothing of this process's can have expired yet
        try:
            n = await anyio.to_thread.run_sync(sweep, store, bucket)
            if n:
                log.info("deleted %d expired dry-run output(s)", n)
        except Exception:
            log.exception("sweeping dry-run outputs failed; trying again later")
