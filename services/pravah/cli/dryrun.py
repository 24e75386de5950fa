"""`pravah dry-run PIPELINE BUCKET/KEY`: run a pipeline on one sample object without applying
anything, and print the output's schema, counts and first rows. Through the API by default
(PRAVAH_URL, like `pravah jobs`), or in this process with --local: embedded mode's folders and
pipelines/, or the server's store and database when PRAVAH_DATABASE_URL is set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
import yaml
from rich.table import Table
from rich.text import Text

from pravah.cli.common import PipelinesOpt, err, fail, load, out, settings
from pravah.dryrun import MAX_ROWS, DryRun

UrlOpt = Annotated[str | None, typer.Option("--url", help="API address (default PRAVAH_URL or http://127.0.0.1:8787).")]


def dry_run_cmd(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name: of the applied document, or (with --spec) of the file.")],
    obj: Annotated[str, typer.Argument(metavar="BUCKET/KEY", help="The sample object (you must be able to see it).")],
    spec_file: Annotated[Path | None, typer.Option("--spec", exists=True, dir_okay=False, help="An unsaved pipeline: a YAML file with `pipelines:`, or one pipeline mapping.")] = None,
    version: Annotated[str | None, typer.Option("--version", help="A stored version of PIPELINE (the hash `apply` printed), live or not.")] = None,
    rows: Annotated[int | None, typer.Option("--rows", "-n", min=1, max=MAX_ROWS, help="Rows to show (default 20).")] = None,
    local: Annotated[bool, typer.Option("--local", help="Run here, not through the API.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    url: UrlOpt = None,
    pipelines_path: PipelinesOpt = None,
) -> None:
    """Run a pipeline on one object and show the first rows of what it would write; nothing is applied."""
    bucket, _, key = obj.partition("/")
    if not bucket or not key:
        raise fail(f"{obj!r} is not BUCKET/KEY", 2)
    if spec_file is not None and version is not None:
        raise fail("--version picks a stored pipeline; --spec gives an unsaved one: use one of them", 2)
    raw = _spec(spec_file, pipeline) if spec_file else None
    if local:
        got = _local(pipeline, bucket, key, raw, version, rows, pipelines_path)
    else:
        got = _remote(pipeline, bucket, key, raw, version, rows, url)
    if as_json:
        print(got.model_dump_json(indent=1))
    else:
        show(got)
    raise typer.Exit(0 if got.succeeded else 1)


def _spec(path: Path, name: str) -> dict[str, Any]:
    """The named pipeline of the file, checked here first so mistakes come with file:line."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise fail(f"{path}: not valid YAML: {e}", 2) from None
    if isinstance(data, dict) and "pipelines" in data:
        load(path)  # every problem, with file, line and field
        found = [p for p in data.get("pipelines") or [] if isinstance(p, dict) and p.get("name") == name]
        if not found:
            raise fail(f"{path} has no pipeline {name!r}", 2)
        return found[0]
    if not isinstance(data, dict):
        raise fail(f"{path}: expected a pipeline (name, steps, output) or a document with `pipelines:`", 2)
    if data.get("name") != name:
        raise fail(f"{path} holds pipeline {data.get('name')!r}, not {name!r}", 2)
    return data


def _remote(name: str, bucket: str, key: str, raw: dict[str, Any] | None, version: str | None, rows: int | None, url: str | None) -> DryRun:
    from pravah.cli.remote import client

    body = {"bucket": bucket, "key": key, "rows": rows, **({"spec": raw} if raw is not None else {"pipeline": name, "version": version})}
    with client(url) as c:
        return DryRun.model_validate(c.post("/v1/dry-runs", body, timeout=300.0))


def _local(name: str, bucket: str, key: str, raw: dict[str, Any] | None, version: str | None, rows: int | None,
           pipelines_path: Path | None) -> DryRun:
    from pravah.dryrun import dry_run, scratch, spec
    from pravah.dryrun.spec import InvalidSpec
    from pravah.errors import DomainError
    from pravah.storage import LocalStore, S3Store, StoreError

    s = settings(pipelines=pipelines_path)
    store = LocalStore(s.data_dir, folders=s.folders) if s.database_url is None else S3Store(s.s3)

    async def go() -> DryRun:
        if raw is not None:
            pipeline, source = spec.inline(raw), "inline"
        elif version is not None or s.database_url is not None:
            pipeline, source = await _from_database(s.db_url, name, version), "version" if version else "applied"
        else:
            pipeline, source = spec.from_document(load(s.pipelines), name), "applied"
        await anyio.to_thread.run_sync(scratch.sweep, store, s.dry_run.bucket or bucket)  # this process has no sweep of its own
        return await dry_run(store, pipeline, bucket, key, s.dry_run, rows=rows, source=source)  # type: ignore[arg-type]

    try:
        return anyio.run(go)
    except InvalidSpec as e:
        for loc, msg in e.problems:
            err.print(f"error: spec: {spec.dotted(loc) or '(the pipeline)'}: {msg}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except DomainError as e:
        raise fail(str(e)) from None
    except StoreError as e:
        raise fail(f"object store: {e}") from None


async def _from_database(db_url: str, name: str, version: str | None) -> Any:
    from pravah import registry
    from pravah.db.session import make_engine, sessions
    from pravah.dryrun import spec

    eng = make_engine(db_url)
    try:
        async with sessions(eng)() as session:
            if version is not None:
                return await spec.stored(session, name, version)
            current = await registry.live(session)
            if current is None:
                raise fail("nothing is applied yet: `pravah apply FILE` first, or give --spec", 2)
            return spec.from_document(current[1], name)
    finally:
        await eng.dispose()


def _cell(v: Any) -> Text:
    if v is None:
        return Text("null", style="dim")
    return Text(json.dumps(v) if isinstance(v, (dict, list)) else str(v))


def show(r: DryRun) -> None:
    out.print(f"dry-run [bold]{r.pipeline}[/]@{r.version} ({r.source}) on {r.bucket}/{r.key} ({r.input_size:,} bytes)", highlight=False)
    if r.output is not None:
        out.print(f"  → {r.output.bucket}/{r.output.key} ({r.output.size:,} bytes, sha256 {r.output.sha256[:12]}…), "
                  f"deleted after {r.output.expires_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)
    counts = [f"{label} {v:,}" for label, v in (("rows in", r.rows_in), ("out", r.rows_out), ("filtered", r.rows_filtered),
                                                ("rejected", r.rows_rejected)) if v is not None]
    out.print("  " + " · ".join([*counts, f"{r.duration_ms:,} ms"]), highlight=False)
    if r.error is not None:
        where = ", ".join(f"{k} {v}" for k, v in (("line", r.error.line), ("column", r.error.column), ("byte", r.error.byte_offset)) if v is not None)
        verb = "would fail" if not r.succeeded else "note"
        out.print(Text.assemble((f"{verb}: ", "bold red"), f"{r.error.type}: {r.error.message}" + (f" ({where})" if where else "")))
    if r.columns:
        out.print("schema: " + ", ".join(f"{c.name} {c.type}" for c in r.columns), highlight=False)
    if r.binary:
        out.print("binary output: no rows to show", style="dim")
    if not r.columns:
        return
    t = Table()
    for c in r.columns:
        t.add_column(Text.assemble(c.name, "\n", (c.type, "dim")))
    for row in r.rows:
        t.add_row(*[_cell(v) for v in row])
    out.print(t)
    total = f" of {r.rows_out:,}" if r.rows_out is not None and r.kind == "table" else ""
    out.print(f"{len(r.rows):,}{total} row(s) shown" + ("" if r.complete else "; there are more"), style="dim", highlight=False)
