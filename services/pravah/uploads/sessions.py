"""Upload sessions: create → sign part URLs → (client PUTs parts straight to the store) →
complete, where the server lists the stored parts itself, checks them, and completes; or
abort; abandoned sessions expire. Store calls block and run in a worker thread."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.accounts import audit
from pravah.accounts.principal import Principal
from pravah.clock import aware, now
from pravah.db.models import Job
from pravah.errors import Conflict, Invalid, NotFound, TooLarge
from pravah.events import ObjectEvent
from pravah.routing import Route, Router
from pravah.settings import UploadSettings
from pravah.storage import Part, Store, StoreError
from pravah.uploads.models import Upload, UploadStatus
from pravah.uploads.names import destination, file_name, object_key

MiB = 1 << 20
MIN_PART, MAX_PARTS, PLANNED_PARTS = 16 * MiB, 10_000, 9_000
SIGN_BATCH = 1000  # part URLs per request


def part_size(size: int) -> int:
    """max(16 MiB, size/9,000) in whole MiB: at most 9,000 parts (S3 allows 10,000), each within
    S3's 5 MiB – 5 GiB."""
    return max(MIN_PART, math.ceil(size / PLANNED_PARTS / MiB) * MiB)


def part_count(size: int, psize: int) -> int:
    return max(1, math.ceil(size / psize))


def expected_size(u: Upload, number: int) -> int:
    return u.part_size if number < u.parts else u.size - u.part_size * (u.parts - 1)


@dataclass(frozen=True)
class Check:
    stored: list[Part]
    missing: list[int]
    wrong: list[str]  # parts of the wrong size, explained


def check_parts(u: Upload, stored: list[Part]) -> Check:
    have = {p.number: p for p in stored}
    missing = [n for n in range(1, u.parts + 1) if n not in have]
    wrong = [f"part {p.number} has {p.size:,} bytes, expected {expected_size(u, p.number):,}"
             for p in stored if p.number <= u.parts and p.size != expected_size(u, p.number)]
    wrong += [f"part {p.number} is beyond the {u.parts} parts of this upload" for p in stored if p.number > u.parts]
    return Check(stored, missing, wrong)


def will_run(router: Router, bucket: str, key: str, size: int) -> Route | None:
    return router.route(ObjectEvent(bucket=bucket, key=key, size=size, etag="", event_time=now()))


async def create(session: AsyncSession, store: Store, caller: Principal, cfg: UploadSettings, *, filename: str, size: int,
                 content_type: str | None, prefix: str | None, last_modified: int | None, origin: audit.Origin) -> Upload:
    if size < 0:
        raise Invalid(f"size {size} is negative")
    if size > cfg.max_bytes:
        raise TooLarge(f"{filename!r} is {size:,} bytes; uploads may have at most {int(cfg.max_bytes):,} bytes (PRAVAH_UPLOADS__MAX_BYTES)")
    name = file_name(filename)
    bucket, folder = destination(caller, prefix)
    key = object_key(folder, name)
    if content_type is not None and (len(content_type) > 255 or not content_type.isprintable()):
        raise Invalid("content_type is not a printable media type of at most 255 characters")
    try:
        backend_id = await anyio.to_thread.run_sync(store.create_multipart, bucket, key, content_type)
    except StoreError as e:
        raise Conflict(str(e)) from None
    psize = part_size(size)
    t = now()
    u = Upload(id=uuid.uuid4().hex, tenant_id=caller.tenant_id, created_by=caller.name, bucket=bucket, key=key, filename=name,
               size=size, content_type=content_type, last_modified=last_modified, part_size=psize, parts=part_count(size, psize),
               backend_id=backend_id, status=UploadStatus.OPEN, created_at=t, expires_at=t + timedelta(seconds=cfg.expire_seconds))
    session.add(u)
    audit.record(session, "upload.created", origin, actor=caller, target=f"{bucket}/{key}", size=size)
    await session.commit()
    return u


def _mine(caller: Principal, u: Upload | None, upload_id: str) -> Upload:
    if u is None or not (caller.is_admin or (u.tenant_id == caller.tenant_id and caller.sees(u.bucket, u.key))):
        raise NotFound(f"no upload {upload_id}")
    return u


async def get(session: AsyncSession, caller: Principal, upload_id: str) -> Upload:
    return _mine(caller, await session.get(Upload, upload_id), upload_id)


def _open(u: Upload) -> None:
    if u.status != UploadStatus.OPEN:
        raise Conflict(f"upload {u.id} is {u.status}")
    if aware(u.expires_at) <= now():
        raise Conflict(f"upload {u.id} expired at {aware(u.expires_at):%Y-%m-%d %H:%M:%S} UTC")


async def sign(session: AsyncSession, store: Store, caller: Principal, cfg: UploadSettings, upload_id: str,
               numbers: list[int]) -> dict[int, str]:
    u = await get(session, caller, upload_id)
    _open(u)
    if not numbers:
        raise Invalid("name at least one part number")
    if len(numbers) > SIGN_BATCH:
        raise Invalid(f"at most {SIGN_BATCH} part URLs per request; asked for {len(numbers)}")
    bad = [n for n in numbers if not 1 <= n <= u.parts]
    if bad:
        raise Invalid(f"part number(s) {', '.join(map(str, bad[:10]))} outside 1..{u.parts}")
    ttl = min(cfg.part_url_seconds, max(60, int((aware(u.expires_at) - now()).total_seconds())))
    return {n: store.presign_part(u.bucket, u.key, u.backend_id, n, ttl, expected_size(u, n)) for n in sorted(set(numbers))}


async def stored_parts(store: Store, u: Upload) -> list[Part]:
    if u.status != UploadStatus.OPEN:
        return []
    try:
        parts = await anyio.to_thread.run_sync(store.list_parts, u.bucket, u.key, u.backend_id)
    except StoreError as e:
        raise Conflict(str(e)) from None
    return parts or []


async def complete(session: AsyncSession, store: Store, caller: Principal, upload_id: str, origin: audit.Origin) -> Upload:
    u = await get(session, caller, upload_id)
    if u.status == UploadStatus.COMPLETED:
        return u  # a retried complete (the first answer was lost) is not an error
    _open(u)
    parts = await anyio.to_thread.run_sync(store.list_parts, u.bucket, u.key, u.backend_id)
    if parts is None:
        raise Conflict(f"the store no longer has upload {u.id} (aborted or expired there)")
    c = check_parts(u, parts)
    if c.missing or c.wrong:
        listed = ", ".join(map(str, c.missing[:20])) + (" …" if len(c.missing) > 20 else "")
        raise Conflict("; ".join(([f"{len(c.missing)} part(s) missing: {listed}"] if c.missing else []) + c.wrong))
    try:
        info = await anyio.to_thread.run_sync(store.complete_multipart, u.bucket, u.key, u.backend_id, sorted(parts, key=lambda p: p.number))
    except StoreError as e:
        raise Conflict(str(e)) from None
    u.status, u.etag, u.version_id, u.finished_at = UploadStatus.COMPLETED, info.etag, info.version_id, now()
    audit.record(session, "upload.completed", origin, actor=caller, target=f"{u.bucket}/{u.key}", size=u.size, upload=u.id)
    await session.commit()
    return u


async def abort(session: AsyncSession, store: Store, caller: Principal, upload_id: str, origin: audit.Origin) -> Upload:
    u = await get(session, caller, upload_id)
    if u.status != UploadStatus.OPEN:
        raise Conflict(f"upload {u.id} is {u.status}")
    try:
        await anyio.to_thread.run_sync(store.abort_multipart, u.bucket, u.key, u.backend_id)
    except StoreError as e:
        raise Conflict(str(e)) from None
    u.status, u.finished_at = UploadStatus.ABORTED, now()
    audit.record(session, "upload.aborted", origin, actor=caller, target=f"{u.bucket}/{u.key}", upload=u.id)
    await session.commit()
    return u


async def listed(session: AsyncSession, caller: Principal, status: str | None, limit: int = 100) -> list[Upload]:
    q = select(Upload).order_by(Upload.created_at.desc()).limit(limit)
    if not caller.is_admin:
        q = q.where(Upload.tenant_id == caller.tenant_id)
    if status:
        q = q.where(Upload.status == status)
    return [u for u in (await session.execute(q)).scalars() if caller.is_admin or caller.sees(u.bucket, u.key)]


async def job_of(session: AsyncSession, u: Upload) -> Job | None:
    """The job the completed upload started through the event path (None until ingest saw it)."""
    if u.status != UploadStatus.COMPLETED or u.etag is None:
        return None
    version = u.version_id or u.etag
    q = select(Job).where(Job.bucket == u.bucket, Job.key == u.key, Job.object_version == version).order_by(Job.created_at).limit(1)
    return (await session.execute(q)).scalar_one_or_none()


async def expire(session: AsyncSession, store: Store) -> int:
    """Abort the sessions past their deadline, here and in the store; returns how many."""
    q = select(Upload).where(Upload.status == UploadStatus.OPEN, Upload.expires_at < now()).limit(100)
    n = 0
    for u in (await session.execute(q)).scalars().all():
        try:
            await anyio.to_thread.run_sync(store.abort_multipart, u.bucket, u.key, u.backend_id)
        except StoreError:
            continue  # try again on the next sweep
        u.status, u.finished_at = UploadStatus.EXPIRED, now()
        audit.record(session, "upload.expired", audit.NOWHERE, name="janitor", tenant_id=u.tenant_id, target=f"{u.bucket}/{u.key}", upload=u.id)
        n += 1
    await session.commit()
    return n
