"""Run one pipeline on one sample object as a job would — same steps, same limits — but into a
scratch folder, with no job row, no events and no metrics; then read back what it wrote."""

from __future__ import annotations

import logging
import math
import posixpath
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import anyio

from pravah import engine
from pravah.dryrun import preview, scratch
from pravah.dryrun.result import MAX_ROWS, DryRun, Failure, Output
from pravah.errors import Invalid, NotFound, TooLarge
from pravah.events import ObjectEvent
from pravah.pipelines import Pipeline
from pravah.routing import OutputKeyError, render_output
from pravah.settings import DryRunSettings
from pravah.storage import Store, StoreError

log = logging.getLogger("pravah.dryrun")
Source = Literal["applied", "version", "inline"]


async def dry_run(store: Store, pipeline: Pipeline, bucket: str, key: str, cfg: DryRunSettings, *, rows: int | None = None,
                  source: Source = "applied", presign_seconds: int | None = None, limiter: anyio.CapacityLimiter | None = None) -> DryRun:
    """The caller has checked that it may see bucket/key. Engine and store calls run in a
    worker thread (at most `limiter`'s tokens at once), never on the event loop."""
    info = await anyio.to_thread.run_sync(store.head, bucket, key)
    if info is None:
        raise NotFound(f"no object {bucket}/{key}")
    if info.size > cfg.max_input_bytes:
        raise TooLarge(f"{bucket}/{key} is {info.size:,} bytes, over the dry-run input limit of {cfg.max_input_bytes.human_readable()} "
                       f"(PRAVAH_DRY_RUN__MAX_INPUT_BYTES); dry-run a smaller sample of the same kind")
    where = scratch.new(cfg.bucket or bucket, cfg.ttl_seconds)
    n = min(rows or cfg.rows, MAX_ROWS)
    call = partial(execute, store, pipeline, ObjectEvent(bucket=bucket, key=key, size=info.size, etag=info.etag, event_time=info.last_modified),
                   where, n, cfg, source, presign_seconds)
    return await anyio.to_thread.run_sync(call, limiter=limiter)


def _failure(e: engine.EngineError) -> Failure:
    return Failure(type=type(e).__name__, message=str(e), line=getattr(e, "line", None), column=getattr(e, "column", None),
                   byte_offset=getattr(e, "byte_offset", None))


def execute(store: Store, pipeline: Pipeline, sample: ObjectEvent, where: scratch.Scratch, n: int, cfg: DryRunSettings,
            source: Source, presign_seconds: int | None) -> DryRun:
    """Blocking: the whole dry-run, in the calling thread."""
    started = time.monotonic()
    limits = pipeline.limits
    own_timeout = limits.timeout_seconds is not None and limits.timeout_seconds <= cfg.timeout_seconds
    # The pipeline's own timeout bounds its run, as in a job; ours bounds everything, preview included.
    deadline = [started + (limits.timeout_seconds if own_timeout else cfg.timeout_seconds)]  # type: ignore[operator]
    latest: dict[str, int] = {}

    def keep_going(progress: dict[str, int]) -> bool:
        latest.update(progress)
        return time.monotonic() < deadline[0]

    def run(steps: list[dict[str, Any]], src_key: str | None, out_key: str) -> engine.Report:
        src = store.uri(sample.bucket, sample.key) if src_key is None else store.uri(where.bucket, src_key)
        return engine.run(steps, src, store.uri(where.bucket, out_key), storage_options=store.options, progress=keep_going,
                          memory_bytes=limits.memory_bytes)

    result = DryRun(id=where.id, pipeline=pipeline.name, version=pipeline.version, source=source, bucket=sample.bucket, key=sample.key,
                    input_size=sample.size, kind=preview.kind(pipeline.steps), succeeded=False)  # type: ignore[arg-type]

    def failed(f: Failure, **more: Any) -> DryRun:
        scratch.delete_run(store, where.bucket, where.prefix)
        return result.model_copy(update={"error": f, "rows_in": latest.get("rows_in"), "duration_ms": _ms(started), **more})

    if limits.max_input_bytes is not None and sample.size > limits.max_input_bytes:
        return failed(Failure(type="LimitError", message=f"input is {sample.size:,} bytes, over limits.max_input_bytes ({limits.max_input_bytes:,})"))
    out_key = where.key(_output_name(pipeline, sample, where.id))
    try:
        report = run(pipeline.steps, None, out_key)
    except engine.StorageError as e:
        scratch.delete_run(store, where.bucket, where.prefix)
        raise StoreError(str(e)) from None
    except engine.CancelledError as e:
        if own_timeout:
            return failed(Failure(type="LimitError", message=f"cancelled after limits.timeout_seconds ({limits.timeout_seconds:g} s)"))
        return failed(Failure(type="Timeout", message=f"the dry-run stopped after {cfg.timeout_seconds:g} s (PRAVAH_DRY_RUN__TIMEOUT_SECONDS): "
                              f"{e}; a job has no such limit, try a smaller sample"))
    except engine.EngineError as e:
        return failed(_failure(e), rows_rejected=1 if isinstance(e, engine.InputFormatError) else None)
    (out,) = report.outputs
    deadline[0] = started + cfg.timeout_seconds
    expires = where.expires_at
    url = None
    if presign_seconds:
        try:
            url = store.presign_get(where.bucket, out_key, min(presign_seconds, math.floor((expires - datetime.now(UTC)).total_seconds())))
        except StoreError:
            url = None  # a store that signs no URLs (the CLI's local store)
    counted = result.kind != "bytes"  # a bytes plan counts no rows: 0 would mislead
    result = result.model_copy(update={
        "succeeded": True, "rows_in": report.rows_in if counted else None, "rows_out": report.rows_out if counted else None,
        "rows_rejected": report.rows_rejected if counted else None,
        "rows_filtered": report.rows_in - report.rows_out if preview.filters_rows(pipeline.steps) else None,
        "output": Output(bucket=where.bucket, key=out_key, size=out.size, sha256=out.sha256, expires_at=expires, url=url),
    })
    shape = preview.table if result.kind == "table" else preview.text
    try:
        got = shape(store, where.bucket, pipeline.steps, out_key, where.key, run, n)
    except engine.EngineError as e:  # the job would succeed; only reading it back ran out of time
        return result.model_copy(update={"error": Failure(type=type(e).__name__, message=f"preview: {e}"), "duration_ms": _ms(started)})
    finally:
        try:
            scratch.delete_keys(store, where.bucket, [where.key(x) for x in (".preview.parquet", ".preview.jsonl", ".preview.txt")])
        except (StoreError, OSError):
            log.warning("dry-run %s: could not delete its preview files; the sweep will", where.id, exc_info=True)
    return result.model_copy(update={"columns": got.columns, "rows": got.rows, "complete": got.complete, "binary": got.binary,
                                     "duration_ms": _ms(started)})


def _output_name(pipeline: Pipeline, sample: ObjectEvent, run_id: str) -> str:
    """The file name a job would write (the template rendered for this object), or `output`."""
    try:
        _, key = render_output(pipeline, sample, run_id, datetime.now(UTC))
    except OutputKeyError as e:
        raise Invalid(str(e)) from None
    name = posixpath.basename(key)
    return name if name and not name.startswith(".") else "output"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
