"""`pravah scan PATH|s3://bucket/prefix`: count (or list as JSON lines or a Parquet table) what is
under a folder or a prefix, filtered by glob, size and age, and read each CSV's header row on the
way. The walk and the listing run in the engine."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from pravah import engine
from pravah.cli.common import err, fail, out, settings

_SIZE = re.compile(r"(\d+(?:\.\d*)?)\s*([kmgtp]?)(i?)b?", re.IGNORECASE)
_AGE = re.compile(r"(\d+(?:\.\d*)?)\s*(s|sec|m|min|h|d|w)", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(flag: str, text: str) -> int:
    """Bytes of `100MB`, `1.5GiB`, `4096`: k/M/G/T/P are powers of 1000, with i of 1024."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise fail(f'{flag} "{text}": not a size (use 4096, 100MB, 1.5GiB)', 2)
    number, unit, binary = m.groups()
    power = " kmgtp".index(unit.lower()) if unit else 0
    return int(float(number) * (1024 if binary else 1000) ** power)


def parse_age(flag: str, text: str, now: datetime) -> datetime:
    """The instant `7d`, `12h`, `30min`, `90s`, `2w` before `now`, or a date / ISO time (UTC unless it says)."""
    m = _AGE.fullmatch(text.strip())
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _AGE_UNITS[m.group(2).lower()])
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail(f'{flag} "{text}": not an age (use 7d, 12h, 30min, 90s, 2w or a date like 2026-01-31)', 2) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def storage_options(root: str) -> dict[str, str]:
    """The object_store options of the configured S3 endpoint (PRAVAH_S3__*), as the worker uses them."""
    if not root.startswith("s3://"):
        return {}
    from pravah.storage import S3Store

    return S3Store(settings().s3).options


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def scan(
    root: Annotated[str, typer.Argument(help="A folder, file:// URI or s3://bucket/prefix.")],
    glob: Annotated[list[str] | None, typer.Option("--glob", "-g", help="Keep paths (relative to the root) matching this glob; may repeat. Without '/', matches the file name at any depth.")] = None,
    min_size: Annotated[str | None, typer.Option(help="Keep files at least this big: 4096, 100MB, 1.5GiB.")] = None,
    max_size: Annotated[str | None, typer.Option(help="Keep files at most this big.")] = None,
    older_than: Annotated[str | None, typer.Option(help="Keep files modified before: 7d, 12h, 30min, 2w or a date.")] = None,
    newer_than: Annotated[str | None, typer.Option(help="Keep files modified since: 7d, 12h, 30min, 2w or a date.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Stream the kept entries as JSON lines (path or key, size, modified) instead of the table.")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help="With --json: write the lines to this file (default stdout). A path ending in .parquet: the entries as one Parquet table.")] = None,
    headers: Annotated[bool, typer.Option("--headers", help="Read each kept file's (object's) first row as a CSV header (its fields, delimiter, or why not) into its entry.")] = False,
    delimiter: Annotated[str | None, typer.Option(help="With --headers: the headers' delimiter (default: sniffed per file from , ; tab |).")] = None,
    names_only: Annotated[bool, typer.Option("--names-only", help="Local trees: no stat per file (about 3× faster here); counts and names, no bytes or times.")] = False,
    threads: Annotated[int, typer.Option(min=1, max=64, help="Threads walking a local tree.")] = 2,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Listing requests in flight on an object store.")] = 8,
) -> None:
    """Count the files under a folder or prefix, by extension, or list them as JSON lines.
    Symlinks are counted, not followed; unreadable directories are reported (exit code 1)."""
    table = bool(output and output.endswith(".parquet"))
    if output and not (as_json or table):
        raise fail("--output goes with --json, or names a .parquet file (the summary table is printed)", 2)
    if delimiter is not None and not headers:
        raise fail("--delimiter goes with --headers", 2)
    now = datetime.now(UTC)
    lines_to = output if table else (output or "-") if as_json else None
    try:
        summary = engine.scan(
            root,
            globs=glob or [],
            min_size=parse_size("--min-size", min_size) if min_size else None,
            max_size=parse_size("--max-size", max_size) if max_size else None,
            modified_before=parse_age("--older-than", older_than, now) if older_than else None,
            modified_after=parse_age("--newer-than", newer_than, now) if newer_than else None,
            output=lines_to,
            storage_options=storage_options(root),
            threads=threads,
            concurrency=concurrency,
            names_only=names_only,
            headers=headers,
            delimiter=delimiter,
        )
    except engine.NotFoundError as e:
        raise fail(f"{e.uri}: does not exist", 2) from None
    except engine.OptionError as e:
        raise fail(str(e), 2) from None
    except engine.EngineError as e:
        raise fail(f"{type(e).__name__}: {e}") from None
    # JSON lines own stdout; the summary then goes to stderr.
    console = err if lines_to == "-" else out
    if as_json or table:
        size = f", {human(summary.bytes)}" if summary.sized else ""
        console.print(f"{summary.files:,} files{size} of {summary.entries:,} entries in "
                      f"{summary.elapsed_ms / 1000:.2f} s ({summary.entries_per_s:,.0f} entries/s), {summary.errors} errors", highlight=False)
    else:
        print_table(summary)
    if headers:
        console.print(f"headers: {summary.headers:,} read, {summary.header_errors:,} unreadable (header_error says why)"
                      + (f"; the table: {output}" if table else ""), highlight=False)
    for f in summary.error_samples[:10]:
        err.print(f"[yellow]unreadable:[/] {f['path']}: {f['reason']}", highlight=False)
    if summary.errors > 10:
        err.print(f"… and {summary.errors - 10} more unreadable entries", highlight=False)
    if summary.errors:
        raise typer.Exit(1)


def print_table(s: engine.ScanSummary, top: int = 20) -> None:
    t = Table("", "value", title=s.root, title_justify="left", show_header=False)
    t.add_row("files", f"{s.files:,}")
    t.add_row("bytes", f"{s.bytes:,} ({human(s.bytes)})" if s.sized else "not read (--names-only)")
    if s.skipped:
        t.add_row("skipped by filters", f"{s.skipped:,}")
    t.add_row("directories", f"{s.dirs:,}")
    if s.symlinks:
        t.add_row("symlinks (not followed)", f"{s.symlinks:,}")
    t.add_row("errors", f"{s.errors:,}")
    t.add_row("elapsed", f"{s.elapsed_ms / 1000:.2f} s")
    t.add_row("entries/s", f"{s.entries_per_s:,.0f}")
    out.print(t)
    if not s.by_extension:
        return
    ext = Table("extension", "files", "bytes", title="by extension", title_justify="left")
    size = human if s.sized else (lambda _: "")
    for e in s.by_extension[:top]:
        ext.add_row(e["extension"], f"{e['files']:,}", size(e["bytes"]))
    if len(s.by_extension) > top:
        rest = s.by_extension[top:]
        ext.add_row(f"… {len(rest)} more", f"{sum(e['files'] for e in rest):,}", size(sum(e["bytes"] for e in rest)))
    out.print(ext)
