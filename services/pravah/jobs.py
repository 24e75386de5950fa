"""Jobs: created idempotently from routed events, claimed with a lease, finished together
with their completion event (outbox) in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, Select, and_, bindparam, exists, insert, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from pravah.clock import now
from pravah.db import wakeup
from pravah.db.models import Job, OutboxEvent, Status
from pravah.events import ObjectEvent
from pravah.live import record
from pravah.live.models import Kind
from pravah.observe import traces
from pravah.routing import Route, render_output

EVENT_OUTPUTS = 1000  # outputs listed in a completion event; an unzip's manifest names the rest
LOG_CAP = 500  # lines kept in a job's log: the first and the newest, with a marker between


def logged(log: list[str], line: str, t: datetime | None = None) -> list[str]:
    """`log` with `line` appended (timestamped), capped at LOG_CAP lines."""
    out = [*log, f"{(t or now()).isoformat()} {line}"]
    if len(out) > LOG_CAP:
        head = 50
        out = out[:head] + [f"… {len(out) - LOG_CAP + 1} earlier line(s) dropped"] + out[-(LOG_CAP - head - 1):]
    return out


def job_row(event: ObjectEvent, route: Route, t: datetime) -> dict[str, Any]:
    """The new PENDING job for a routed event; raises OutputKeyError for a bad output key.
    The job carries the current span's trace context (ingest's span of the event): its claim,
    run and completion event continue that trace."""
    job_id = uuid.uuid4().hex
    p = route.pipeline
    out_bucket, out_key = render_output(p, event, job_id, t)
    return dict(
        id=job_id,
        bucket=event.bucket,
        key=event.key,
        object_version=event.object_version,
        version_id=event.version_id,
        etag=event.etag,
        size=event.size,
        pipeline=p.name,
        pipeline_version=p.version,
        status=Status.PENDING,
        attempts=0,
        max_attempts=p.retries + 1,
        pool=p.runtime.pool,
        output_bucket=out_bucket,
        output_key=out_key,
        log=[f"{t.isoformat()} created from {event.bucket}/{event.key}"],
        next_attempt_at=t,
        created_at=t,
        updated_at=t,
        traceparent=traces.traceparent(),
    )


async def create_jobs(session: AsyncSession, rows: list[dict[str, Any]]) -> list[str]:
    """Insert jobs in multi-row statements; a row whose identity (object version, pipeline
    version) already has a job is skipped. Returns the ids actually created."""
    if not rows:
        return []
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    # executemany form: one cached statement, batched by SQLAlchemy's "insertmanyvalues"
    # (compiling a literal multi-row VALUES each time costs more than the insert itself).
    stmt = dialect.insert(Job).on_conflict_do_nothing().returning(Job.id)
    # Workers are woken by the table's trigger (NOTIFY at commit, in the INSERT's round trip).
    return list((await session.execute(stmt, rows)).scalars())


def in_one_statement(session: AsyncSession, n: int) -> bool:
    """Whether create_jobs inserts `n` rows with one statement on PostgreSQL: SQLAlchemy pages an
    executemany by rows and by bind parameters."""
    d = session.bind.dialect
    return d.name == "postgresql" and n <= min(d.insertmanyvalues_page_size, d.insertmanyvalues_max_parameters // len(Job.__table__.c))


async def create_job(session: AsyncSession, event: ObjectEvent, route: Route) -> str | None:
    """One job (see create_jobs); None when it already exists."""
    created = await create_jobs(session, [job_row(event, route, now())])
    return created[0] if created else None


def _claims(any_pool: bool, postgres: bool) -> tuple[Any, Any]:
    """claim's two statements (first attempts and take-overs, then any due job), of one pool or
    of any. Built once: building and keying them anew cost more CPU than the claim's own work.
    Each returns the job taken and whether another was runnable then (on SQLite always true:
    SQLAlchemy renders RETURNING's columns unqualified there, and a subquery's with them)."""
    t = bindparam("claim_t")

    def conditions(j: Any) -> tuple[Any, Any, Any]:  # of `j` (jobs or an alias): mine, due, taken over
        mine = true() if any_pool else j.pool == bindparam("claim_pool")
        return mine, and_(j.status == Status.PENDING, j.next_attempt_at <= t), and_(j.status == Status.RUNNING, j.lease_expires_at < t)

    mine, due, taken_over = conditions(Job)
    runnable = and_(mine, or_(due, taken_over))
    other = aliased(Job)
    o_mine, o_due, o_taken_over = conditions(other)
    more = exists().where(other.id != Job.id, o_mine, or_(o_due, o_taken_over)) if postgres else true()
    takes = []
    for cond in (and_(mine, or_(and_(due, Job.attempts == 0), taken_over)), and_(mine, due)):
        pick = select(Job.id).where(cond).order_by(Job.next_attempt_at).limit(1).with_for_update(skip_locked=True).scalar_subquery()
        takes.append(
            update(Job)
            .where(Job.id == pick, runnable)
            .values(status=Status.RUNNING, attempts=Job.attempts + 1, lease_owner=bindparam("claim_owner"),
                    lease_expires_at=bindparam("claim_until"), updated_at=t)
            .returning(Job, more.label("more"))
            # The session is new: nothing in it to synchronise, and working that out cost CPU.
            .execution_options(populate_existing=True, synchronize_session=False)
        )
    return takes[0], takes[1]


_CLAIMS = {(a, p): _claims(a, p) for a in (False, True) for p in (False, True)}  # by "of any pool", "on PostgreSQL"


async def claim(session: AsyncSession, owner: str, lease: timedelta, pool: str | None = None) -> Job | None:
    """One runnable job of `pool`, taken (see `take`); None when there was none."""
    return (await take(session, owner, lease, pool))[0]


async def take(session: AsyncSession, owner: str, lease: timedelta, pool: str | None = None) -> tuple[Job | None, bool]:
    """Take one runnable job of `pool` (None: of any pool): PENDING and due, or RUNNING with an
    expired lease (its worker died); and whether another was runnable as it was taken (a worker
    wakes another slot only then: a slot woken for nothing made an empty claim beside every
    job). First attempts and take-overs before retries (each oldest due first): a pipeline
    whose jobs keep failing cannot crowd out fresh work; its retries wait for a free slot. One
    UPDATE … RETURNING picks and takes the row (the claim used to be a SELECT, an UPDATE and a
    re-read: three round trips, the largest share of a small job's wait). On PostgreSQL SKIP
    LOCKED lets concurrent workers pick different rows without waiting; SQLite runs the
    statement alone, and the repeated condition keeps it single."""
    t = now()
    params = {"claim_t": t, "claim_owner": owner, "claim_until": t + lease, "claim_pool": pool}
    for n, stmt in enumerate(_CLAIMS[pool is None, session.bind.dialect.name == "postgresql"]):
        row = (await session.execute(stmt, params)).one_or_none()
        if row is None:
            continue
        job, more = row
        await record.write(session, [record.row(job.id, Kind.STATUS, status=Status.RUNNING, attempt=job.attempts, worker=owner)])
        # RETURNING gives the new row only (SQLite cannot return another table's columns): a
        # first attempt was PENDING at 0 attempts, so a job of `first` past one was RUNNING.
        if n == 0 and job.attempts > 1:
            await append_log(session, job, "lease expired: taken over from a dead worker")
        await session.commit()
        return job, bool(more)
    await session.commit()
    return None, False


async def heartbeat(session: AsyncSession, job_id: str, owner: str, lease: timedelta) -> bool:
    """Extend our lease; False if another worker has taken the job over."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.status == Status.RUNNING)
        .values(lease_expires_at=now() + lease)
    )
    await session.commit()
    return result.rowcount == 1


async def hand_back(session: AsyncSession, job_id: str, owner: str, line: str) -> bool:
    """A stopping worker gives up a job it holds, unfinished: PENDING and due now, the attempt
    not counted (the job did not fail), other workers woken. False if it was not ours any more."""
    t = now()
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.status == Status.RUNNING)
        .values(status=Status.PENDING, attempts=Job.attempts - 1, lease_owner=None, lease_expires_at=None,
                next_attempt_at=t, updated_at=t)
    )
    if result.rowcount != 1:
        await session.rollback()
        return False
    job = await session.get(Job, job_id, populate_existing=True)
    job.log = logged(job.log, line, t)
    record.log(session, job_id, line)
    record.status(session, job_id, Status.PENDING, attempt=job.attempts)
    await wakeup.notify(session, wakeup.JOBS)
    await session.commit()
    return True


async def cancel_requested(session: AsyncSession, job_id: str) -> bool:
    q = select(Job.cancel_requested_at).where(Job.id == job_id)
    return (await session.execute(q)).scalar_one_or_none() is not None


async def append_log(session: AsyncSession, job: Job, line: str) -> None:
    """Add a line to the job's log and its live stream; committed."""
    job.log = logged(job.log, line)
    record.log(session, job.id, line)
    await session.commit()


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    report: dict[str, Any] | None = None
    error: str | None = None
    retryable: bool = False
    cancelled: bool = False
    handed_back: bool = False  # stopped unfinished because its worker is stopping: see hand_back
    delete_input: bool = False  # the pipeline says so: the worker deletes the input once SUCCEEDED is recorded


def _finishes() -> tuple[Any, Any]:
    """finish's UPDATEs (back to PENDING for a retry; a final state), built once. They match
    only the row as the worker last saw it (`seen`: its updated_at): a job changed since, as a
    cancel request adding to its log, is read again rather than overwritten."""
    t = Job.__table__
    mine = and_(t.c.id == bindparam("job_id"), t.c.lease_owner == bindparam("owner"), t.c.updated_at == bindparam("seen"))
    common = dict(status=bindparam("status"), log=bindparam("log"), error=bindparam("error"), updated_at=bindparam("t"),
                  lease_owner=None, lease_expires_at=None)
    return (update(t).where(mine).values(**common, next_attempt_at=bindparam("next_at")),
            update(t).where(mine).values(**common, finished_at=bindparam("t"), report=bindparam("report")))


_RETRY, _FINAL = _finishes()
_CURRENT = (select(Job.log, Job.updated_at, Job.lease_owner).where(Job.id == bindparam("job_id"))
            .with_for_update())
_OUTBOX = insert(OutboxEvent.__table__)


async def finish(session: AsyncSession, job: Job, owner: str, outcome: Outcome, backoff: timedelta) -> str:
    """Record the outcome; returns the new status. A retry goes back to PENDING with backoff;
    a final state writes its completion event in the same transaction. `job` is the row as
    its worker claimed it; it gets the recorded values."""
    t = now()
    if outcome.succeeded:
        status, line = Status.SUCCEEDED, f"succeeded in {outcome.report['duration_ms'] if outcome.report else '?'} ms"
    elif outcome.cancelled:
        status, line = Status.CANCELLED, f"cancelled: {outcome.error}"
    elif outcome.retryable and job.attempts < job.max_attempts:
        status = Status.PENDING
        delay = backoff * (2 ** (job.attempts - 1))
        line = f"attempt {job.attempts} failed, retrying in {delay.total_seconds():.1f}s: {outcome.error}"
    else:
        status, line = Status.FAILED, f"failed: {outcome.error}"
    stmt = _RETRY if status == Status.PENDING else _FINAL
    params: dict[str, Any] = dict(job_id=job.id, owner=owner, seen=job.updated_at, status=status, log=logged(job.log, line, t),
                                  error=outcome.error, t=t, report=outcome.report, next_at=t + backoff * (2 ** (job.attempts - 1)))
    if (await session.execute(stmt, params)).rowcount != 1:
        current = (await session.execute(_CURRENT, {"job_id": job.id})).one_or_none()
        if current is None or current.lease_owner != owner:
            await session.rollback()
            return "LOST"  # another worker took it over; its run decides the outcome
        params.update(seen=current.updated_at, log=logged(current.log, line, t))
        if (await session.execute(stmt, params)).rowcount != 1:
            await session.rollback()
            return "LOST"
    job.status, job.log, job.error, job.updated_at, job.lease_owner, job.lease_expires_at = status, params["log"], outcome.error, t, None, None
    if status == Status.PENDING:
        job.next_attempt_at = params["next_at"]
    else:
        job.finished_at, job.report = t, outcome.report
    await record.write(session, [record.row(job.id, Kind.LOG, line=line),
                                 record.row(job.id, Kind.STATUS, status=status, attempt=job.attempts, error=outcome.error)])
    if status != Status.PENDING:
        await session.execute(_OUTBOX, completion_row(job, t))  # the outbox's trigger wakes the relay
    await session.commit()
    return status


# The engine writes quarantined rows next to the output under this name (engine/core/src/run.rs).
REJECTS_SUFFIX = ".rejects.jsonl"


def rejects_of(job: Job) -> dict[str, Any] | None:
    """Where a job's quarantined bad rows went and how many there are; None when it set none aside."""
    report = job.report or {}
    r = report.get("rejects")
    if not r:
        return None
    return {"bucket": job.output_bucket, "key": job.output_key + REJECTS_SUFFIX, "size": r.get("size"), "sha256": r.get("sha256"),
            "rows": report.get("rows_rejected")}


def keyed(report: dict[str, Any], base_uri: str, output_key: str) -> dict[str, Any]:
    """The report with each written object's key beside its URI: the output itself, or for a
    job with many outputs (unzip) a member under the output key as a prefix."""
    base = base_uri.rstrip("/")

    def key_of(o: dict[str, Any]) -> dict[str, Any]:
        uri = o["uri"]
        rest = uri[len(base):].lstrip("/") if uri.startswith(base) else ""
        return {**o, "key": f"{output_key.rstrip('/')}/{rest}" if rest else output_key}

    out = {**report, "outputs": [key_of(o) for o in report.get("outputs", [])]}
    if report.get("manifest"):
        out["manifest"] = key_of(report["manifest"])
    return out


def _written(job: Job, o: dict[str, Any]) -> dict[str, Any]:
    """One object the job wrote, as the API and the events show it (a report from before
    outputs carried their keys names the job's output key)."""
    return {"bucket": job.output_bucket, "key": o.get("key") or job.output_key, "size": o.get("size"), "sha256": o.get("sha256"),
            "content_type": o.get("content_type")}


def outputs(job: Job) -> list[dict[str, Any]]:
    """Every object the job wrote: bucket, key, size, sha256, content type."""
    return [_written(job, o) for o in (job.report or {}).get("outputs", [])]


def manifest_of(job: Job) -> dict[str, Any] | None:
    """unzip/untar: the manifest naming the whole set of outputs, written last."""
    m = (job.report or {}).get("manifest")
    return _written(job, m) if m else None


def completion_event(job: Job, t: datetime) -> OutboxEvent:
    """The job's completion event as an outbox row to add to a session (see completion_row)."""
    return OutboxEvent(**completion_row(job, t))


def completion_row(job: Job, t: datetime) -> dict[str, Any]:
    """CloudEvents-style JSON; the id is stable per job outcome so consumers can drop repeats.
    Its `traceparent` (the CloudEvents distributed-tracing extension) is the span current when
    the outcome is recorded (the worker's run), else the job's own trace (a cancel from the API)."""
    report = job.report or {}
    written = outputs(job)
    kind = job.status.lower()
    run = "" if (job.run or 1) == 1 else f".r{job.run}"  # a manual retry's outcome is a new event
    payload = {
        "specversion": "1.0",
        "id": f"{job.id}{run}.{kind}",
        "type": f"pravah.job.{kind}",
        "source": "pravah",
        "subject": f"{job.bucket}/{job.key}",
        "time": t.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "job_id": job.id,
            "pipeline": job.pipeline,
            "pipeline_version": job.pipeline_version,
            "status": job.status,
            "attempts": job.attempts,
            "run": job.run or 1,
            "input": {"bucket": job.bucket, "key": job.key, "version_id": job.version_id, "etag": job.etag, "size": job.size},
            # At most EVENT_OUTPUTS of them (an event must fit in a Kafka message); the manifest lists all.
            "outputs": written[:EVENT_OUTPUTS],
            "outputs_total": len(written),
            # unzip/untar: the manifest naming the whole set, written last (null for one output).
            "manifest": manifest_of(job),
            # Bad rows set aside by the read step (the job still succeeded): how many, and where.
            "rejects": rejects_of(job),
            "metrics": {k: report.get(k) for k in ("rows_in", "rows_out", "rows_rejected", "bytes_in", "bytes_out", "duration_ms")},
            "error": job.error,
        },
    }
    if tp := traces.traceparent() or job.traceparent:
        payload["traceparent"] = tp
    return {"event_id": payload["id"], "job_id": job.id, "type": payload["type"], "payload": payload, "created_at": t}


SUMMARY = (Job.id, Job.bucket, Job.key, Job.pipeline, Job.pipeline_version, Job.status, Job.attempts, Job.run, Job.error,
           Job.created_at, Job.finished_at, Job.cancel_requested_at, Job.output_bucket, Job.output_key)


def listing(
    *,
    pipeline: str | None = None,
    status: str | None = None,
    bucket: str | None = None,
    prefix: str | None = None,
    search: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    visible: Any = None,
    after: str | None = None,
    limit: int = 50,
) -> Select:
    """Slim rows, newest first, in one statement; `after` is the last id of the previous page
    (keyset pagination); `search` a case-insensitive part of the key; `visible` an SQL condition limiting the jobs to what the caller may see."""
    q = select(*SUMMARY)
    if visible is not None:
        q = q.where(visible)
    if since:
        q = q.where(Job.created_at >= since)
    if until:
        q = q.where(Job.created_at < until)
    if pipeline:
        q = q.where(Job.pipeline == pipeline)
    if status:
        q = q.where(Job.status == status)
    if bucket:
        q = q.where(Job.bucket == bucket)
    if prefix:
        q = q.where(Job.key.startswith(prefix, autoescape=True))
    if search:
        q = q.where(Job.key.icontains(search, autoescape=True))
    if after:
        anchor = select(Job.created_at).where(Job.id == after).scalar_subquery()
        q = q.where(or_(Job.created_at < anchor, and_(Job.created_at == anchor, Job.id < after)))
    return q.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)


async def list_jobs(session: AsyncSession, **filters: Any) -> list[Any]:
    return list((await session.execute(listing(**filters))).all())


_ONE = select(Job.__table__).where(Job.id == bindparam("job_id"))  # built once: its cache key is computed once


def one(job_id: str) -> Executable:
    return _ONE.params(job_id=job_id)


# Plain rows and a plain UPDATE, built once: the relay reads and marks for every job, and ORM
# entities (and the UPDATE's session synchronisation) cost CPU for rows that are only sent on.
_UNPUBLISHED = (select(OutboxEvent.id, OutboxEvent.payload).where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id).limit(bindparam("limit")))
_MARK = (update(OutboxEvent.__table__).where(OutboxEvent.__table__.c.id.in_(bindparam("ids", expanding=True)))
         .values(published_at=bindparam("at")))


async def unpublished(session: AsyncSession, limit: int = 100) -> list[Any]:
    """The oldest unpublished outbox rows: (id, payload)."""
    return list((await session.execute(_UNPUBLISHED, {"limit": limit})).all())


async def mark_published(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(_MARK, {"ids": ids, "at": now()})
    await session.commit()
