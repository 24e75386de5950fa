"""`pravah run PIPELINE FOLDER/`: every file under a folder through one pipeline, in a thread pool,
with one progress bar over files and bytes and a summary that names each failure."""

from __future__ import annotations

import os
import stat
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from pravah import engine
from pravah.cli.common import err, fail, out
from pravah.events import ObjectEvent
from pravah.pipelines import Pipeline
from pravah.routing import OutputKeyError, render_output


@dataclass(frozen=True)
class Task:
    src: Path
    rel: str  # the path under the folder, the key the template sees
    dst: Path
    size: int


def progress_bar(*columns: ProgressColumn | str) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), *columns, DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=err, transient=True)


def output_key(p: Pipeline, bucket: str, key: str) -> str:
    """The key the pipeline's output template gives an input, as a job for that object would write it."""
    now = datetime.now(UTC)
    return render_output(p, ObjectEvent(bucket=bucket, key=key, size=0, etag="", event_time=now), "local", now)[1]


def files_under(root: Path, glob: str | None, skip: Path) -> list[tuple[Path, str, int]]:
    """Regular files under `root` (symlinks not followed, `skip` not entered): path, relative path, size."""
    found = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if Path(here, d).resolve() != skip)  # a re-run must not read its own outputs
        for name in sorted(names):
            path = Path(here, name)
            st = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISREG(st.st_mode) and (glob is None or fnmatchcase(rel, glob)):
                found.append((path, rel, st.st_size))
    return found


def plan(p: Pipeline, root: Path, out_dir: Path, glob: str | None) -> list[Task]:
    """One task per file, refused whole (exit 2) when it is empty or two files would write one output."""
    if not root.is_dir():
        raise fail(f"no such folder: {root}", 2)
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(f"-o {out_dir}: a file; a folder's outputs go under a folder", 2)
    files = files_under(root, glob, out_dir.resolve())
    if not files:
        raise fail(f"no files under {root}/" + (f" match --glob {glob!r}" if glob else ""), 2)
    tasks: list[Task] = []
    writer: dict[Path, Path] = {}  # output → the input that writes it
    clashes: list[str] = []
    inputs = {src.resolve() for src, _, _ in files}
    for src, rel, size in files:
        try:
            dst = out_dir / output_key(p, root.name, rel)
        except OutputKeyError as e:
            raise fail(f"{src}: {e}", 2) from None
        if dst in writer:
            clashes.append(f"{writer[dst]} and {src} would both write {dst}")
        elif dst.resolve() in inputs:
            clashes.append(f"{src} would overwrite the input {dst}")
        writer[dst] = src
        tasks.append(Task(src, rel, dst, size))
    if clashes:
        for line in clashes[:10]:
            err.print(f"error: {line}", markup=False, highlight=False)
        more = f" ({len(clashes) - 10} more)" if len(clashes) > 10 else ""
        raise fail(f"{len(clashes)} output collision(s){more}; the template {p.output!r} needs {{dir}} or {{name}}, or narrow with --glob", 2)
    return tasks


def outcome(f: Future[engine.Report]) -> engine.Report | engine.EngineError:
    try:
        return f.result()
    except engine.EngineError as e:
        return e


def run_all(p: Pipeline, tasks: list[Task], jobs: int) -> tuple[dict[Task, engine.Report | engine.EngineError], bool]:
    """Each task's report or engine error, and whether Ctrl-C stopped the run (tasks not started are left out)."""
    stop, lock = threading.Event(), threading.Lock()
    done_bytes, reading = 0, dict[Task, int]()  # bytes of finished files; bytes read so far of running ones
    results: dict[Task, engine.Report | engine.EngineError] = {}
    with progress_bar(TextColumn("{task.fields[files]} files")) as bar:
        row = bar.add_task(p.name, total=sum(t.size for t in tasks), files=f"0/{len(tasks)}")

        def show() -> None:
            with lock:
                bar.update(row, completed=done_bytes + sum(reading.values()), files=f"{len(results)}/{len(tasks)}")

        def one(t: Task) -> engine.Report:
            def progress(st: dict[str, int]) -> bool:
                with lock:
                    reading[t] = min(st["bytes_in"], t.size)
                show()
                return not stop.is_set()  # False cancels the engine at its next chunk

            return engine.run(p.steps, str(t.src), str(t.dst), progress=progress)

        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pravah-run")
        futures = {pool.submit(one, t): t for t in tasks}
        try:
            for f in as_completed(futures):
                with lock:
                    t = futures[f]
                    results[t] = outcome(f)
                    reading.pop(t, None)
                    done_bytes += t.size
                show()
        except KeyboardInterrupt:
            stop.set()  # running files stop at their next chunk, the rest never start
            pool.shutdown(wait=True, cancel_futures=True)
            results.update({futures[f]: outcome(f) for f in futures if f.done() and not f.cancelled() and futures[f] not in results})
            return results, True
        pool.shutdown()
    return results, False


def summarize(p: Pipeline, root: Path, out_dir: Path, tasks: list[Task], results: dict[Task, engine.Report | engine.EngineError],
              secs: float, stopped: bool) -> int:
    """Print what ran and what failed; the exit code: 0 all succeeded, 1 any failed, 130 stopped."""
    reports = [r for r in results.values() if isinstance(r, engine.Report)]
    failed = [(t, e) for t, e in results.items() if isinstance(e, engine.EngineError) and not (stopped and isinstance(e, engine.CancelledError))]
    rows_in, rows_out = sum(r.rows_in for r in reports), sum(r.rows_out for r in reports)
    bytes_in, bytes_out = sum(r.bytes_in for r in reports), sum(r.bytes_out for r in reports)
    out.print(f"{p.name}: {root}/ → {out_dir}/  {len(tasks):,} file(s): {len(reports):,} succeeded, {len(failed):,} failed"
              + (f", {len(tasks) - len(reports) - len(failed):,} stopped by Ctrl-C" if stopped else ""), highlight=False)
    out.print(f"rows in {rows_in:,}  rows out {rows_out:,}  bytes in {bytes_in:,}  bytes out {bytes_out:,}  "
              f"{secs:.2f} s  {bytes_in / 1e6 / max(secs, 1e-3):.1f} MB/s", highlight=False)
    for t, e in sorted(failed, key=lambda x: x[0].rel):
        err.print(f"failed: {t.src}: {type(e).__name__}: {e}", markup=False, highlight=False)
    rejected = [(t, r) for t, r in results.items() if isinstance(r, engine.Report) and r.rows_rejected]
    if rejected:
        err.print(f"[yellow]warning:[/] {sum(r.rows_rejected for _, r in rejected):,} bad row(s) set aside in {len(rejected):,} file(s)", highlight=False)
        for t, r in sorted(rejected, key=lambda x: x[0].rel):
            err.print(f"  {t.src}: {r.rows_rejected:,}" + (f" → {r.rejects.uri}" if r.rejects else " (skipped, on_bad_rows: skip)"),
                      markup=False, highlight=False)
    return 130 if stopped else 1 if failed else 0


def run_folder(p: Pipeline, root: Path, out_dir: Path, glob: str | None, jobs: int | None) -> int:
    """Plan every file first (nothing runs when one would be refused), then run them all; the exit code."""
    tasks = plan(p, root, out_dir, glob)
    start = time.monotonic()
    results, stopped = run_all(p, tasks, jobs or os.cpu_count() or 1)
    return summarize(p, root, out_dir, tasks, results, time.monotonic() - start, stopped)
