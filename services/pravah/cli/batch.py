"""`pravah backfill` and `pravah backfills`: turn the objects already under a prefix into jobs
through a running API, and follow or cancel a backfill; `pravah reprocess` after a pipeline changed."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from pravah.cli.common import fail, out
from pravah.cli.remote import UrlOpt, client
from pravah.cli.scan import parse_age, parse_size

backfills_app = typer.Typer(help="Backfills: list, show progress, cancel.", no_args_is_help=True)
DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


def target_of(text: str) -> tuple[str, str]:
    """s3://bucket/prefix or bucket/prefix → (bucket, prefix)."""
    bucket, _, prefix = text.removeprefix("s3://").partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,62}", bucket):
        raise fail(f"{text!r}: expected s3://BUCKET/PREFIX or BUCKET/PREFIX (bucket names: lower-case letters, digits, '.', '-')", 2)
    return bucket, prefix


def line(b: dict[str, Any]) -> str:
    jobs = ", ".join(f"{n} {s}" for s, n in sorted(b.get("jobs", {}).items()))
    return (f"{b['status']}: listed {b['listed']:,}, jobs made {b['created']:,}, existing {b['existing']:,}, "
            f"unrouted {b['unrouted']:,}, filtered {b['filtered']:,}" + (f" — jobs: {jobs}" if jobs else ""))


def backfill(
    target: Annotated[str, typer.Argument(help="s3://BUCKET/PREFIX (or BUCKET/PREFIX; a local bucket in `pravah up`).")],
    pipeline: Annotated[str | None, typer.Option(help="Run this pipeline on every object (default: each object's binding).")] = None,
    min_size: Annotated[str | None, typer.Option("--min-size", help="Only objects at least this big: 4096, 100MB, 1.5GiB.")] = None,
    max_size: Annotated[str | None, typer.Option("--max-size", help="Only objects at most this big.")] = None,
    glob: Annotated[str | None, typer.Option(help="Only keys whose rest after the prefix matches, e.g. '*.csv'.")] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="Only objects last modified before: 7d, 12h, 30min, 2w or a date.")] = None,
    wait: Annotated[bool, typer.Option(help="Follow it until it has listed everything (--no-wait: print its id and return).")] = True,
    url: UrlOpt = None,
) -> None:
    """Make jobs for the objects already under a prefix; run twice, it makes no job twice."""
    bucket, prefix = target_of(target)
    t = datetime.now(UTC)
    body = {"bucket": bucket, "prefix": prefix, "pipeline": pipeline, "glob": glob,
            "min_size": parse_size("--min-size", min_size) if min_size else None,
            "max_size": parse_size("--max-size", max_size) if max_size else None,
            "older_than_seconds": int((t - parse_age("--older-than", older_than, t)).total_seconds()) if older_than else None}
    with client(url) as c:
        b = c.post("/v1/backfills", {k: v for k, v in body.items() if v is not None})
        out.print(f"backfill {b['id']} of {bucket}/{prefix}")
        if not wait:
            return
        shown = now = ""
        while b["status"] not in DONE:
            time.sleep(0.5)
            b = c.get(f"/v1/backfills/{b['id']}")
            now = line(b)
            if now != shown:
                out.print(now, highlight=False)
                shown = now
        if now != (final := line(b)):
            out.print(final, highlight=False)
    if b["status"] == "FAILED":
        raise fail(f"backfill {b['id']} failed: {b['error']}")


@backfills_app.command("ls")
def backfills_ls(url: UrlOpt = None) -> None:
    """The newest backfills you may see."""
    with client(url) as c:
        rows = c.get("/v1/backfills")
    t = Table("id", "kind", "prefix", "pipeline", "status", "listed", "made", "existing", "created")
    for b in rows:
        t.add_row(b["id"], b["kind"], f"{b['bucket']}/{b['prefix']}", b["pipeline"] or "(bindings)", b["status"], f"{b['listed']:,}",
                  f"{b['created']:,}", f"{b['existing']:,}", b["created_at"][:19])
    out.print(t)


@backfills_app.command("show")
def backfills_show(backfill_id: str, url: UrlOpt = None) -> None:
    """Progress of one backfill and of the jobs it made."""
    with client(url) as c:
        b = c.get(f"/v1/backfills/{backfill_id}")
    out.print(f"backfill {b['id']} ({b['kind']}) of {b['bucket']}/{b['prefix']} by {b['created_by']}")
    out.print(line(b), highlight=False)
    if b["error"]:
        out.print(f"error: {b['error']}", highlight=False, markup=False)


@backfills_app.command("cancel")
def backfills_cancel(backfill_id: str, url: UrlOpt = None) -> None:
    """List no further (the jobs already made run on)."""
    with client(url) as c:
        b = c.post(f"/v1/backfills/{backfill_id}/cancel")
    out.print(line(b), highlight=False)


def reprocess(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name (its live version runs).")],
    since: Annotated[str | None, typer.Option(help="Only objects whose newest job was made since: 7d, 12h, 30min or a date.")] = None,
    url: UrlOpt = None,
) -> None:
    """After a pipeline changed: jobs of its live version for the objects an older version last
    processed successfully (within your scopes); asking twice makes nothing twice."""
    body = {"since": parse_age("--since", since, datetime.now(UTC)).isoformat()} if since else {}
    with client(url) as c:
        r = c.post(f"/v1/pipelines/{pipeline}/reprocess", body)
    refused = f", {r['unroutable']:,} refused by the output template" if r["unroutable"] else ""
    out.print(f"pipeline {r['pipeline']}@{r['version']}: {r['created']:,} job(s) made for objects an older version processed "
              f"({r['considered']:,} considered, {r['existing']:,} had one already{refused})", highlight=False)
