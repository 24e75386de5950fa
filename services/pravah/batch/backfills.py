"""Backfills as records: created by a person (or the reconcile sweep), claimed by a runner with a
lease, advanced one listing page at a time — the page's jobs, the cursor and the counters in one
transaction — and cancelled on request. Jobs get the usual identity, so a second backfill of the
same objects makes no job; each knows the backfill that made it (progress counts them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pravah import jobs
from pravah.accounts import audit
from pravah.accounts.principal import Principal, covers_prefix
from pravah.batch.listing import Listed
from pravah.batch.models import Backfill, BackfillStatus
from pravah.clock import now
from pravah.db import wakeup
from pravah.control import route_for
from pravah.db.models import Job
from pravah.errors import Conflict, Invalid, NotFound
from pravah.events import ObjectEvent
from pravah.routing import OutputKeyError, Router

CHANNEL = "pravah_backfills"  # a backfill was created: a runner takes it now


@dataclass(frozen=True)
class Filters:
    min_size: int | None = None
    max_size: int | None = None
    glob: str | None = None  # on the key after the prefix, as a binding's glob
    older_than_seconds: int | None = None

    def keeps(self, o: Listed, prefix: str, t: datetime) -> bool:
        return ((self.min_size is None or o.size >= self.min_size) and (self.max_size is None or o.size <= self.max_size)
                and (self.glob is None or fnmatchcase(o.key[len(prefix):], self.glob))
                and (self.older_than_seconds is None or o.last_modified <= t - timedelta(seconds=self.older_than_seconds)))


def filters_of(b: Backfill) -> Filters:
    return Filters(b.min_size, b.max_size, b.glob, b.older_than_seconds)


async def create(session: AsyncSession, caller: Principal, router: Router, bucket: str, prefix: str, pipeline: str | None,
                 filters: Filters, origin: audit.Origin | None, kind: str = "backfill") -> Backfill:
    if not (caller.is_admin or covers_prefix(caller.scopes, bucket, prefix)):
        raise NotFound(f"no prefix {bucket}/{prefix} among your scopes ({', '.join(caller.scopes) or 'none'})")
    if pipeline is not None and all(p.name != pipeline for p in router.doc.pipelines):
        raise NotFound(f"no pipeline {pipeline!r} in the applied document")
    if filters.min_size is not None and filters.max_size is not None and filters.min_size > filters.max_size:
        raise Invalid(f"min_size {filters.min_size} is more than max_size {filters.max_size}")
    t = now()
    b = Backfill(id=uuid.uuid4().hex, kind=kind, bucket=bucket, prefix=prefix, pipeline=pipeline, status=BackfillStatus.PENDING,
                 min_size=filters.min_size, max_size=filters.max_size, glob=filters.glob, older_than_seconds=filters.older_than_seconds,
                 listed=0, created=0, existing=0, unrouted=0, filtered=0, pages=0, created_by=caller.name, created_at=t, updated_at=t)
    session.add(b)
    if origin is not None:
        audit.record(session, "backfill.created", origin, actor=caller, target=b.id, prefix=f"{bucket}/{prefix}", pipeline=pipeline)
    await wakeup.notify(session, CHANNEL)
    await session.commit()
    return b


async def visible(session: AsyncSession, caller: Principal, backfill_id: str) -> Backfill:
    b = await session.get(Backfill, backfill_id, populate_existing=True)
    if b is None or not (caller.is_admin or covers_prefix(caller.scopes, b.bucket, b.prefix)):
        raise NotFound(f"no backfill {backfill_id}")
    return b


async def cancel(session: AsyncSession, caller: Principal, backfill_id: str, origin: audit.Origin) -> Backfill:
    """Lists no further; the jobs already made run (cancel those on their own)."""
    b = await visible(session, caller, backfill_id)
    if b.status in BackfillStatus.FINAL:
        raise Conflict(f"backfill {backfill_id} is already {b.status}")
    t = now()
    b.status, b.finished_at, b.updated_at, b.error = BackfillStatus.CANCELLED, t, t, f"cancelled by {caller.name}"
    audit.record(session, "backfill.cancelled", origin, actor=caller, target=b.id)
    await session.commit()
    return b


async def job_counts(session: AsyncSession, backfill_id: str) -> dict[str, int]:
    rows = (await session.execute(select(Job.status, func.count()).where(Job.backfill_id == backfill_id).group_by(Job.status))).all()
    return {s.lower(): n for s, n in rows}


async def claim(session: AsyncSession, owner: str, lease: timedelta) -> Backfill | None:
    """A PENDING backfill, or a RUNNING one whose runner stopped renewing (it resumes at the cursor)."""
    t = now()
    takeable = or_(Backfill.status == BackfillStatus.PENDING,
                   and_(Backfill.status == BackfillStatus.RUNNING, Backfill.lease_expires_at < t))
    row = (await session.execute(select(Backfill.id).where(takeable).order_by(Backfill.created_at).limit(1)
                                 .with_for_update(skip_locked=True))).first()
    if row is None:
        return None
    taken = await session.execute(update(Backfill).where(Backfill.id == row.id, takeable).values(
        status=BackfillStatus.RUNNING, lease_owner=owner, lease_expires_at=t + lease, updated_at=t))
    await session.commit()
    return await session.get(Backfill, row.id, populate_existing=True) if taken.rowcount == 1 else None


@dataclass
class Page:
    listed: int = 0
    created: int = 0
    existing: int = 0
    unrouted: int = 0
    filtered: int = 0


def rows_for(b: Backfill, objects: list[Listed], router: Router, t: datetime) -> tuple[list[dict[str, Any]], Page]:
    """The jobs a page of objects makes: each routed by its binding, or to the backfill's pipeline."""
    page, rows, keep = Page(listed=len(objects)), [], filters_of(b)
    for o in objects:
        if not keep.keeps(o, b.prefix, t):
            page.filtered += 1
            continue
        event = ObjectEvent(bucket=b.bucket, key=o.key, size=o.size, etag=o.etag, event_time=o.last_modified, version_id=o.version_id)
        route = router.route(event) if b.pipeline is None else route_for(router, event, b.pipeline)
        if route is None:
            page.unrouted += 1
            continue
        try:
            row = jobs.job_row(event, route, t)
        except OutputKeyError:
            page.unrouted += 1
            continue
        row["backfill_id"] = b.id
        row["log"] = jobs.logged([], f"created by {b.kind} {b.id} from {b.bucket}/{o.key}", t)
        rows.append(row)
    return rows, page


async def commit_page(session: AsyncSession, b: Backfill, owner: str, lease: timedelta, rows: list[dict[str, Any]], page: Page,
                      cursor: str | None, last: bool) -> bool:
    """The page's jobs, cursor and counters, together; False when the backfill was cancelled or
    taken over meanwhile (then nothing of the page is kept)."""
    t = now()
    created = await jobs.create_jobs(session, rows)
    page.created, page.existing = len(created), len(rows) - len(created)
    done = dict(status=BackfillStatus.SUCCEEDED, finished_at=t) if last else {}
    moved = await session.execute(
        update(Backfill).where(Backfill.id == b.id, Backfill.lease_owner == owner, Backfill.status == BackfillStatus.RUNNING).values(
            cursor=cursor if cursor is not None else Backfill.cursor, listed=Backfill.listed + page.listed,
            created=Backfill.created + page.created, existing=Backfill.existing + page.existing,
            unrouted=Backfill.unrouted + page.unrouted, filtered=Backfill.filtered + page.filtered, pages=Backfill.pages + 1,
            lease_expires_at=t + lease, updated_at=t, **done))
    if moved.rowcount != 1:
        await session.rollback()
        return False
    await session.commit()
    return True


async def fail(session: AsyncSession, b: Backfill, owner: str, error: str) -> None:
    t = now()
    await session.execute(update(Backfill).where(Backfill.id == b.id, Backfill.lease_owner == owner, Backfill.status == BackfillStatus.RUNNING)
                          .values(status=BackfillStatus.FAILED, error=error, finished_at=t, updated_at=t))
    await session.commit()


async def recent(session: AsyncSession, caller: Principal, limit: int = 50) -> list[Backfill]:
    q = select(Backfill).order_by(Backfill.created_at.desc()).limit(limit * 4 if not caller.is_admin else limit)
    return [b for b in (await session.execute(q)).scalars() if caller.is_admin or covers_prefix(caller.scopes, b.bucket, b.prefix)][:limit]


async def sweep_due(session: AsyncSession, bucket: str, prefix: str, every: timedelta) -> bool:
    """No reconcile sweep of bucket/prefix is under way or began within `every`."""
    q = select(func.count()).select_from(Backfill).where(
        Backfill.kind == "reconcile", Backfill.bucket == bucket, Backfill.prefix == prefix,
        or_(Backfill.status.in_((BackfillStatus.PENDING, BackfillStatus.RUNNING)), Backfill.created_at > now() - every))
    return (await session.execute(q)).scalar_one() == 0

