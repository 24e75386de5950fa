"""Worker: claim a job, run the engine off the event loop while renewing the lease, record
the outcome and its completion event together. Stopping (`drain`): claim nothing more, let the
running jobs finish within a grace period, hand the rest back for another worker to take now."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from functools import partial

import anyio
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import engine, jobs, metrics
from pravah.db.models import Job
from pravah.db.wakeup import JOBS, Wakeup
from pravah.live import record
from pravah.live.models import Kind
from pravah.observe import logs, traces
from pravah.ops import heartbeats
from pravah.registry import Registry
from pravah.settings import WorkerSettings
from pravah.storage import Store

log = logging.getLogger("pravah.worker")

TICK_SECONDS = 0.5  # how soon a running job notices a cancel request
PROGRESS_SECONDS = 1.0  # at most one progress event per job this often
HAND_BACK_SECONDS = 4.0  # after the grace period: the engine stops at its next progress tick (250 ms), then one transaction


def progress_fields(p: dict[str, int], elapsed: float, steps: str = "") -> dict[str, object]:
    """What watchers see of the engine's counters: percent, rate and ETA when the size is known.
    The engine streams every step at once, so the step is the whole chain, not one of them."""
    size, done = p.get("input_size", 0), p.get("bytes_in", 0)
    rate = done / elapsed if elapsed > 0 else 0.0
    out: dict[str, object] = {**p, "elapsed_seconds": round(elapsed, 1), "bytes_per_second": round(rate), "step": steps}
    if size:
        out["percent"] = round(min(100.0, 100.0 * done / size), 1)
        out["eta_seconds"] = round((size - done) / rate, 1) if rate > 0 else None
    return out


REPORTED = ("rows_in", "rows_out", "rows_rejected", "bytes_in", "bytes_out")  # engine counters put on the run span

# Bad input or a bad plan fails the same way every time: retrying only delays the answer.
PERMANENT = (engine.InputFormatError, engine.PlanError, engine.ExpressionError, engine.LimitError)


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    """`pool`: claim only that pool's jobs (None: any pool's, as embedded mode does)."""

    def __init__(self, sessions: async_sessionmaker, registry: Registry, store: Store, settings: WorkerSettings, pool: str | None = None):
        self.sessions, self.registry, self.store, self.settings, self.pool = sessions, registry, store, settings, pool
        self.owner = worker_id()
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.backoff = timedelta(seconds=settings.backoff_seconds)
        self.running: set[str] = set()  # job ids, for the heartbeat
        self.stopping = False  # claim nothing more
        self.halt = threading.Event()  # stop the engine on what still runs: it is handed back
        self.loops = 0  # claim loops not yet returned (each finishes what it claimed first)

    async def serve(self) -> None:
        """Run jobs until cancelled, `concurrency` at a time."""
        wake = Wakeup(str(self.sessions.kw["bind"].url.render_as_string(hide_password=False)), JOBS)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(heartbeats.keep_beating, self.sessions, self.owner, self.settings.concurrency, self.running,
                              self.pool or heartbeats.ANY_POOL)
                for _ in range(self.settings.concurrency):
                    self.loops += 1
                    tg.start_soon(self._loop, wake)
        finally:
            with anyio.CancelScope(shield=True):
                await wake.close()

    async def drain(self, grace: float, hurry: anyio.Event | None = None) -> None:
        """Claim nothing more; give the running jobs `grace` seconds (or until `hurry` is set) to
        finish, then stop the engine on the others and hand them back (PENDING now, this attempt
        not counted), so that another worker takes them at once instead of after the lease."""
        self.stopping = True
        if self.running:
            log.info("worker stopping: %d running job(s) get %g s to finish", len(self.running), grace)
        with anyio.move_on_after(grace):
            async with anyio.create_task_group() as tg:

                async def hurried() -> None:
                    if hurry is not None:
                        await hurry.wait()
                        tg.cancel_scope.cancel()

                tg.start_soon(hurried)
                await self._idle()
                tg.cancel_scope.cancel()
        if self.loops:
            if self.running:
                log.warning("worker stopping: handing back %d unfinished job(s)", len(self.running))
            self.halt.set()
            with anyio.move_on_after(HAND_BACK_SECONDS):
                await self._idle()

    async def _idle(self) -> None:
        while self.loops:
            await anyio.sleep(0.05)

    async def _loop(self, wake: Wakeup) -> None:
        try:
            await self._claim_until_stopped(wake)
        finally:
            self.loops -= 1

    async def _claim_until_stopped(self, wake: Wakeup) -> None:
        while not self.stopping:
            try:
                await self.run_one(wake)
            except Exception:
                # Database or store unreachable (a restart, a network blip): keep the process,
                # try again. A job we held is taken over once its lease expires.
                log.exception("worker: could not claim or record a job; retrying in 1 s")
                await anyio.sleep(1.0)
                continue
            # Woken by NOTIFY when a job is made: polling every 0.1 s as well cost an idle
            # worker a claim query per slot each time, CPU that a small job's latency shares.
            # After a run too: a claim that saw another runnable job passed a wake-up on, so when
            # more may be waiting this returns at once; otherwise claiming again only finds nothing.
            await wake.wait(self.settings.recheck_seconds if wake.listening else self.settings.poll_seconds)

    async def run_one(self, wake: Wakeup | None = None) -> bool:
        """Claim and run one job; False when there was nothing to do. The claim and the run are
        spans in the job's trace; every line logged meanwhile names the job. A claim that saw
        another runnable job wakes one more of `wake`'s idle slots: one NOTIFY may announce a
        whole batch of jobs."""
        asked = time.time_ns()
        async with self.sessions() as s:
            job, more = await jobs.take(s, self.owner, self.lease, self.pool)
        if job is None:
            return False
        if wake is not None and more:
            wake.wake()
        attrs = {"pravah.job.id": job.id, "pravah.pipeline": job.pipeline, "pravah.pipeline.version": job.pipeline_version,
                 "pravah.pool": job.pool, "pravah.job.attempt": job.attempts, "pravah.object.bucket": job.bucket,
                 "pravah.object.key": job.key, "pravah.object.size": job.size}
        claim = traces.start("pravah.claim", job.traceparent, {**attrs, "pravah.worker": self.owner}, start_time=asked)
        claim.end()
        parent = job.traceparent or claim.traceparent  # a job made outside any trace: this attempt's own
        self.running.add(job.id)
        try:
            with logs.job_context(job.id, job.pipeline), traces.span("pravah.run", parent, attrs) as span:
                return await self._run(job, span)
        finally:
            self.running.discard(job.id)

    async def _run(self, job: Job, span: traces.Span) -> bool:
        started = time.monotonic()
        if job.cancel_requested_at is not None:  # cancelled while its dead worker held it
            outcome = jobs.Outcome(False, error="cancel requested before it could resume", cancelled=True)
        else:
            outcome = await self._execute(job)
        if outcome.handed_back:
            span.set({"pravah.outcome": "handed_back"})
            await self._hand_back(job, time.monotonic() - started)
            return True
        metrics.JOB_SECONDS.labels(job.pipeline, "ok" if outcome.succeeded else "error").observe(time.monotonic() - started)
        if outcome.report:
            metrics.BYTES_IN.labels(job.pipeline).inc(outcome.report.get("bytes_in", 0))
            metrics.BYTES_OUT.labels(job.pipeline).inc(outcome.report.get("bytes_out", 0))
        status = await self._record(job, outcome)  # in the run span: the completion event continues it
        if status == "SUCCEEDED" and outcome.delete_input:
            await self._delete_input(job)
        report = outcome.report or {}
        span.set({"pravah.outcome": status.lower(), **{f"pravah.{k.replace('_', '.')}": report.get(k) for k in REPORTED}})
        if not outcome.succeeded:
            span.fail(outcome.error or status)
        log.info("job %s %s/%s → %s", job.id, job.bucket, job.key, status)
        return True

    async def _delete_input(self, job: Job) -> None:
        """`delete_input: true`: the outputs are committed and the outcome recorded, so the input
        may go — if it is still the version processed. A failure leaves it in place (logged)."""
        try:
            gone = await anyio.to_thread.run_sync(self.store.delete_processed, job.bucket, job.key, job.etag, job.version_id)
        except Exception:
            log.warning("job %s: could not delete its input %s/%s; it stays", job.id, job.bucket, job.key, exc_info=True)
            return
        if gone:
            metrics.INPUTS_DELETED.labels(job.pipeline).inc()
            log.info("job %s: input %s/%s deleted (delete_input)", job.id, job.bucket, job.key)
        else:
            log.info("job %s: input %s/%s kept: it changed or went since the job read it", job.id, job.bucket, job.key)

    async def _hand_back(self, job: Job, seconds: float) -> bool:
        try:
            async with self.sessions() as s:
                back = await jobs.hand_back(s, job.id, self.owner, f"worker stopping: handed back after {seconds:.1f} s; "
                                                                   "another worker takes it now (this attempt does not count)")
        except Exception:
            log.warning("worker: could not hand back job %s; it is taken over when its lease expires", job.id, exc_info=True)
            return False
        if back:
            metrics.HANDED_BACK.inc()
            log.info("job %s %s/%s handed back", job.id, job.bucket, job.key)
        return back

    async def _record(self, job: Job, outcome: jobs.Outcome) -> str:
        """Record the outcome, retrying while the database is briefly away (a restart) for as
        long as our lease would last; past that another worker owns the job anyway. `job` is the
        row as claimed: finish reads it again only if it changed since."""
        deadline = time.monotonic() + self.lease.total_seconds()
        delay = 0.2
        while True:
            try:
                async with self.sessions() as s:
                    return await jobs.finish(s, job, self.owner, outcome, self.backoff)
            except Exception:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("worker: recording job %s failed; retrying in %.1f s", job.id, delay, exc_info=True)
                await anyio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _execute(self, job: Job) -> jobs.Outcome:
        pipeline = await self.registry.pipeline(job.pipeline, job.pipeline_version)
        if pipeline is None:
            return jobs.Outcome(False, error=f"pipeline {job.pipeline} version {job.pipeline_version} was never applied")
        limits = pipeline.limits
        if limits.max_input_bytes is not None and job.size > limits.max_input_bytes:
            return self._limit(job, "max_input_bytes", f"input is {job.size:,} bytes, over limits.max_input_bytes ({limits.max_input_bytes:,})")
        lost, cancel = threading.Event(), threading.Event()
        deadline = time.monotonic() + limits.timeout_seconds if limits.timeout_seconds else None
        latest: dict[str, int] = {}

        def keep_going(progress: dict[str, int]) -> bool:
            latest.update(progress)  # the engine thread only stores it; `watch` writes it out
            return (not lost.is_set() and not cancel.is_set() and not self.halt.is_set()
                    and (deadline is None or time.monotonic() < deadline))

        out_uri = self.store.uri(job.output_bucket, job.output_key)
        call = partial(
            engine.run,
            pipeline.steps,
            self.store.uri(job.bucket, job.key),
            out_uri,
            storage_options=self.store.options,
            progress=keep_going,
            memory_bytes=limits.memory_bytes,
            max_outputs=limits.max_outputs,
        )
        result: dict[str, object] = {}

        steps = " → ".join(st["op"] for st in pipeline.steps)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch, job, latest, lost, cancel, steps)
            try:
                with traces.span("pravah.engine", attrs={"pravah.steps": steps}):  # an engine error is recorded on it
                    result["report"] = await anyio.to_thread.run_sync(call)
            except engine.EngineError as e:
                result["error"] = e
            tg.cancel_scope.cancel()
        if "report" in result:
            # limits.max_outputs is the engine's to enforce: an unpack stops before the member over it.
            report = jobs.keyed(result["report"].as_dict(), out_uri, job.output_key)  # type: ignore[union-attr]
            return jobs.Outcome(True, report=report, delete_input=pipeline.delete_input)
        err = result["error"]
        if isinstance(err, engine.CancelledError) and cancel.is_set() and not lost.is_set():
            return jobs.Outcome(False, error="cancelled on request while running", cancelled=True)
        if isinstance(err, engine.CancelledError) and self.halt.is_set() and not lost.is_set():
            return jobs.Outcome(False, handed_back=True)
        if isinstance(err, engine.CancelledError) and deadline is not None and time.monotonic() >= deadline and not lost.is_set():
            return self._limit(job, "timeout_seconds", f"cancelled after limits.timeout_seconds ({limits.timeout_seconds:g} s)")
        if isinstance(err, engine.LimitError):
            metrics.LIMITS.labels(job.pipeline, "engine").inc()
        return jobs.Outcome(False, error=f"{type(err).__name__}: {err}", retryable=not isinstance(err, PERMANENT))

    async def _watch(self, job: Job, latest: dict[str, int], lost: threading.Event, cancel: threading.Event, steps: str) -> None:
        """While the engine runs: renew the lease, notice a cancel request, and write the
        progress out at most once per PROGRESS_SECONDS."""
        started = renewed = written = time.monotonic()
        last: dict[str, int] = {}
        while True:
            await anyio.sleep(min(TICK_SECONDS, self.lease.total_seconds() / 6))
            t = time.monotonic()
            try:
                # Shielded: a read cancelled mid-statement leaves its SQLite cursor, and the lock
                # it holds, to the garbage collector; the job's finish then waited 30 s and failed.
                with anyio.CancelScope(shield=True), anyio.fail_after(self.lease.total_seconds()):
                    async with self.sessions() as s:
                        if t - renewed >= self.lease.total_seconds() / 3:
                            if not await jobs.heartbeat(s, job.id, self.owner, self.lease):
                                lost.set()  # another worker took it over: stop the engine
                                return
                            renewed = t
                        if await jobs.cancel_requested(s, job.id):
                            cancel.set()
                        if latest and latest != last and t - written >= PROGRESS_SECONDS:
                            last, written = dict(latest), t
                            record.emit(s, job.id, Kind.PROGRESS, **progress_fields(last, t - started, steps))
                            await s.commit()
            except Exception:
                log.warning("worker: lease renewal or progress for job %s failed", job.id, exc_info=True)
                if t - renewed > self.lease.total_seconds():
                    lost.set()  # the lease has surely expired: someone else may run it
                    return

    def _limit(self, job: Job, name: str, message: str) -> jobs.Outcome:
        metrics.LIMITS.labels(job.pipeline, name).inc()
        return jobs.Outcome(False, error=f"LimitError: {message}", retryable=False)
