"""The `pravah` command line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from pravah import engine, pipelines
from pravah.events import ObjectEvent
from pravah.routing import render_output
from pravah.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="Pravah: uploads in, processed data out.", no_args_is_help=True, add_completion=False)
jobs_app = typer.Typer(help="Look at jobs in the embedded database.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
out = Console()
err = Console(stderr=True)

PipelinesOpt = Annotated[Path | None, typer.Option("--pipelines", "-p", help="Pipeline YAML file or folder (default: PRAVAH_PIPELINES or pipelines/).")]


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None


def _load(path: Path) -> pipelines.Document:
    try:
        return pipelines.load(path)
    except pipelines.InvalidPipelines as e:
        for p in e.problems:
            err.print(f"error: {p}", markup=False, highlight=False)
        err.print(f"{len(e.problems)} problem(s)")
        raise typer.Exit(1) from None
    except FileNotFoundError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="YAML files or folders.")]) -> None:
    """Check pipelines and bindings; print every problem with file, line and field."""
    failed = False
    for f in files:
        try:
            doc = pipelines.load(f)
        except pipelines.InvalidPipelines as e:
            failed = True
            for p in e.problems:
                err.print(f"error: {p}", markup=False, highlight=False)
            continue
        except FileNotFoundError as e:
            failed = True
            err.print(f"[red]error:[/] {e}")
            continue
        out.print(f"{f}: ok — {len(doc.pipelines)} pipeline(s), {len(doc.bindings)} binding(s)")
    raise typer.Exit(1 if failed else 0)


@app.command()
def run(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name.")],
    input: Annotated[str, typer.Argument(help="Input file path or s3:// URI.")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output path or URI (default: out/<template>).")] = None,
    pipelines_path: PipelinesOpt = None,
) -> None:
    """Run one file through a pipeline's engine steps, with a progress bar."""
    settings = _settings(pipelines=pipelines_path)
    doc = _load(settings.pipelines)
    try:
        p = doc.pipeline(pipeline)
    except StopIteration:
        err.print(f"[red]error:[/] no pipeline {pipeline!r} in {settings.pipelines}; have: {', '.join(x.name for x in doc.pipelines)}")
        raise typer.Exit(2) from None
    if output is None:
        name = Path(input).name
        event = ObjectEvent(bucket="local", key=name, size=0, etag="", event_time=datetime.now(UTC))
        _, key = render_output(p, event, "local", datetime.now(UTC))
        output = str(Path("out") / key)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(p.name, total=None)

        def progress(s: dict[str, int]) -> bool:
            bar.update(task, completed=s["bytes_in"], total=s["input_size"] or None)
            return True

        try:
            report = engine.run(p.steps, input, output, progress=progress)
        except engine.EngineError as e:
            err.print(f"[red]{type(e).__name__}:[/] {e}", highlight=False)
            raise typer.Exit(1) from None
    mb = report.bytes_in / 1e6
    secs = max(report.duration_ms, 1) / 1000
    out.print(f"{input} → {output}")
    out.print(
        f"rows in {report.rows_in:,}  rows out {report.rows_out:,}  bytes in {report.bytes_in:,}  bytes out {report.bytes_out:,}  "
        f"{secs:.2f} s  {mb / secs:.1f} MB/s"
    )
    for o in report.outputs:
        out.print(f"  {o.uri}  {o.size:,} bytes  sha256 {o.sha256}", highlight=False)


@app.command()
def up(
    pipelines_path: PipelinesOpt = None,
    home: Annotated[Path | None, typer.Option(help="State folder (default .pravah).")] = None,
    port: Annotated[int | None, typer.Option(help="API port (0 = no API).")] = None,
) -> None:
    """Embedded mode: watch local buckets, run jobs, serve the API — no servers needed."""
    from pravah.embedded import Embedded

    overrides: dict[str, object] = {"pipelines": pipelines_path, "home": home}
    settings = _settings(**overrides)
    if port is not None:
        settings.api.port = port
    _load(settings.pipelines)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emb = Embedded(settings)
    out.print(f"pravah up: buckets under {settings.data_dir}/ ({', '.join(sorted(emb.router.buckets))}), "
              f"events → {settings.events_path}" + (f", API http://{settings.api.host}:{settings.api.port}" if settings.api.port else ""))
    try:
        anyio.run(emb.run)
    except KeyboardInterrupt:
        pass


@app.command()
def apply(file: Annotated[Path, typer.Argument(help="Pipeline YAML file or folder.")]) -> None:
    """Validate, store pipelines and bindings in the database (PRAVAH_DATABASE_URL) as the live
    version, and write each bound bucket's ObjectCreated notification configuration whole."""
    from pravah import notify, registry
    from pravah.db.session import make_engine, migrate, sessions
    from pravah.storage import S3Store

    doc = _load(file)
    settings = _settings()
    if settings.database_url is None:
        err.print("[red]error:[/] apply needs PRAVAH_DATABASE_URL (the server's database); embedded mode reads pipelines/ itself")
        raise typer.Exit(2)
    migrate(settings.db_url)
    eng = make_engine(settings.db_url)

    async def store() -> tuple[int, pipelines.Document | None]:
        async with sessions(eng)() as s:
            previous = await registry.live(s)
            doc_id = await registry.apply(s, doc, str(file))
        await eng.dispose()
        return doc_id, previous[1] if previous else None

    doc_id, previous = anyio.run(store)
    try:
        written = notify.sync(S3Store(settings.s3).client, doc, previous, settings.s3.notify_arn)
    except Exception as e:  # boto3's errors share no useful base class
        err.print(f"[red]error:[/] stored as version {doc_id}, but writing bucket notifications failed: {e}")
        err.print("run `pravah apply` again once the object store is reachable")
        raise typer.Exit(1) from None
    for p in doc.pipelines:
        out.print(f"pipeline {p.name}@{p.version}")
    for bucket, n in written.items():
        out.print(f"bucket {bucket}: {n} notification rule(s) → {settings.s3.notify_arn}")
    out.print(f"applied document {doc_id}")


@app.command()
def serve(role: Annotated[str, typer.Argument(help="api, ingest, worker, relay, or all (comma-separated for several).")] = "all") -> None:
    """Run the server path against PostgreSQL, Kafka and S3/MinIO (settings: PRAVAH_* env vars)."""
    from pravah.server import ROLES, Server

    settings = _settings()
    if settings.database_url is None:
        err.print("[red]error:[/] serve needs PRAVAH_DATABASE_URL; for one machine without servers use `pravah up`")
        raise typer.Exit(2)
    roles = set(ROLES) if role == "all" else {r.strip() for r in role.split(",")}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        server = Server(settings, roles)
    except ValueError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    try:
        anyio.run(server.run)
    except KeyboardInterrupt:
        pass


@app.command("asyncapi")
def asyncapi_cmd() -> None:
    """Print the AsyncAPI document of Pravah's Kafka topics (docs/asyncapi.json)."""
    from pravah.bus import asyncapi

    print(json.dumps(json.loads(asyncapi(_settings().kafka)), indent=2, sort_keys=True))


def _sessions(home: Path | None):
    from pravah.db.session import make_engine, migrate, sessions

    settings = _settings(home=home)
    migrate(settings.db_url)
    return make_engine(settings.db_url), sessions


@jobs_app.command("ls")
def jobs_ls(
    status: Annotated[str | None, typer.Option(help="PENDING, RUNNING, SUCCEEDED or FAILED.")] = None,
    pipeline: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    home: Annotated[Path | None, typer.Option(help="State folder (default .pravah).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List jobs, newest first."""
    from pravah import jobs

    eng, make = _sessions(home)

    async def go():
        async with make(eng)() as s:
            rows = await jobs.list_jobs(s, status=status, pipeline=pipeline, limit=limit)
        await eng.dispose()
        return rows

    rows = anyio.run(go)
    if as_json:
        print(json.dumps([{"id": r.id, "bucket": r.bucket, "key": r.key, "pipeline": r.pipeline, "status": r.status,
                           "attempts": r.attempts, "error": r.error} for r in rows]))
        return
    t = Table("id", "object", "pipeline", "status", "attempts", "error")
    for r in rows:
        t.add_row(r.id[:12], f"{r.bucket}/{r.key}", r.pipeline, r.status, str(r.attempts), (r.error or "")[:80])
    out.print(t)


@jobs_app.command("show")
def jobs_show(
    job_id: str,
    home: Annotated[Path | None, typer.Option(help="State folder (default .pravah).")] = None,
) -> None:
    """One job with its log and outputs (a unique id prefix is enough)."""
    from sqlalchemy import select

    from pravah.db.models import Job

    eng, make = _sessions(home)

    async def go():
        async with make(eng)() as s:
            rows = list((await s.execute(select(Job).where(Job.id.startswith(job_id)).limit(2))).scalars())
        await eng.dispose()
        return rows

    rows = anyio.run(go)
    if len(rows) != 1:
        err.print(f"[red]error:[/] {'no job' if not rows else 'more than one job'} matches {job_id!r}")
        raise typer.Exit(1)
    j = rows[0]
    out.print(f"[bold]{j.id}[/] {j.status}  {j.bucket}/{j.key} → {j.output_bucket}/{j.output_key}")
    out.print(f"pipeline {j.pipeline}@{j.pipeline_version}  attempts {j.attempts}/{j.max_attempts}")
    if j.error:
        out.print(f"[red]error:[/] {j.error}", highlight=False)
    for line in j.log:
        out.print(f"  {line}", highlight=False)
    if j.report:
        out.print_json(json.dumps(j.report))


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
