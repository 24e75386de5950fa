"""Commands that run here, with no API in between: validate, run, up, apply, serve, asyncapi."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import anyio
import typer

from pravah import engine, observe, pipelines
from pravah.cli import folder
from pravah.cli.common import PipelinesOpt, err, fail, load, out, settings
from pravah.settings import Settings


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


SHOWN = 10  # outputs listed after a run; an unzip writes thousands


def run(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name.")],
    input: Annotated[str, typer.Argument(help="Input file path or s3:// URI, or a folder: every file under it.")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output path or URI (default: out/<template>); for a folder, the folder outputs go under (default: out/).")] = None,
    pipelines_path: PipelinesOpt = None,
    glob: Annotated[str | None, typer.Option("--glob", "-g", help="Folder: only files whose path under it matches (fnmatch, as a binding's glob).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Folder: files run at once (default: the number of CPUs).")] = None,
) -> None:
    """Run one file, or every file under a folder, through a pipeline's engine steps, with a progress bar.
    A folder's summary names each failure; exit code 1 when any failed."""
    s = settings(pipelines=pipelines_path)
    doc = load(s.pipelines)
    try:
        p = doc.pipeline(pipeline)
    except StopIteration:
        raise fail(f"no pipeline {pipeline!r} in {s.pipelines}; have: {', '.join(x.name for x in doc.pipelines)}", 2) from None
    if Path(input).is_dir() or (input.endswith("/") and "://" not in input):
        raise typer.Exit(folder.run_folder(p, Path(input), Path(output or "out"), glob, jobs))
    if glob is not None:
        raise fail("--glob goes with a folder", 2)
    if output is None:
        output = str(Path("out") / folder.output_key(p, "local", Path(input).name))
    with folder.progress_bar() as bar:
        task = bar.add_task(p.name, total=None)

        def progress(st: dict[str, int]) -> bool:
            bar.update(task, completed=st["bytes_in"], total=st["input_size"] or None)
            return True

        try:
            report = engine.run(p.steps, input, output, progress=progress, max_outputs=p.limits.max_outputs)
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
    for o in report.outputs[:SHOWN]:
        out.print(f"  {o.uri}  {o.size:,} bytes  sha256 {o.sha256}", highlight=False)
    if len(report.outputs) > SHOWN:
        out.print(f"  … and {len(report.outputs) - SHOWN:,} more", highlight=False)
    if report.manifest:
        out.print(f"manifest (the whole set): {report.manifest.uri}", highlight=False)
    for why in report.skipped[:SHOWN]:
        err.print(f"[yellow]skipped:[/] {why}", highlight=False)
    if report.rows_rejected:
        where = f": {report.rejects.uri}" if report.rejects else " (skipped, on_bad_rows: skip)"
        err.print(f"[yellow]warning:[/] {report.rows_rejected:,} bad row(s) set aside{where}", highlight=False)


def up(
    pipelines_path: PipelinesOpt = None,
    home: Annotated[Path | None, typer.Option(help="State folder (default .pravah).")] = None,
    port: Annotated[int | None, typer.Option(help="API port (0 = no API).")] = None,
) -> None:
    """Embedded mode: watch local buckets, run jobs, serve the API — no servers needed."""
    from pravah.api.serve import OpenModeNotLoopback, check_open_mode
    from pravah.embedded import Embedded

    s = settings(pipelines=pipelines_path, home=home)
    if port is not None:
        s.api.port = port
    load(s.pipelines)
    observe.setup(s, "pravah", "text")
    emb = Embedded(s)
    try:
        check_open_mode(emb.api)
    except OpenModeNotLoopback as e:
        raise fail(str(e), 2) from None
    mode = "open (no accounts, loopback only)" if emb.api.open else "accounts"
    elsewhere = "".join(f", {b} → {p}" for b, p in sorted(s.folders.items()))
    out.print(f"pravah up: buckets under {s.data_dir}/ ({', '.join(sorted(emb.router.buckets))}){elsewhere}, "
              f"events → {s.events_path}" + (f", API {s.api.base_url} ({mode})" if s.api.port else ""))
    if s.api.port:
        out.print(f"dashboard: {s.api.base_url}/ui/")
    try:
        anyio.run(emb.serve, backend_options={"use_uvloop": True})
    except KeyboardInterrupt:
        pass


def apply(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file or folder.")],
    wire_minio: Annotated[bool, typer.Option("--wire-minio", help="First make MinIO run the Kafka target PRAVAH_S3__NOTIFY_ARN names, through "
                                             "its admin API (brokers, topic, queue store: PRAVAH_KAFKA__*, PRAVAH_S3__NOTIFY_*); needs an administrator's keys.")] = False,
    restart_minio: Annotated[bool, typer.Option("--restart-minio", help="With --wire-minio: restart MinIO when its target is new or changed "
                                                "(MinIO starts notification targets only when it starts).")] = False,
) -> None:
    """Validate, store pipelines and bindings in the database (PRAVAH_DATABASE_URL) as the live
    version, and write each bound bucket's ObjectCreated notification configuration whole; with
    --wire-minio, first make MinIO run the Kafka target those notifications name."""
    from pravah import notify, registry
    from pravah.db.session import make_engine, migrate, sessions
    from pravah.storage import S3Store

    doc = load(file)
    s = settings()
    if s.database_url is None:
        raise fail("apply needs PRAVAH_DATABASE_URL (the server's database); embedded mode reads pipelines/ itself", 2)
    if restart_minio and not wire_minio:
        raise fail("--restart-minio goes with --wire-minio", 2)
    if wire_minio:
        wire(s, restart_minio)
    migrate(s.db_url)
    eng = make_engine(s.db_url)

    async def store() -> tuple[int, pipelines.Document | None]:
        async with sessions(eng)() as session:
            previous = await registry.live(session)
            doc_id = await registry.apply(session, doc, str(file))
        await eng.dispose()
        return doc_id, previous[1] if previous else None

    doc_id, previous = anyio.run(store)
    try:
        written = notify.sync(S3Store(s.s3).client, doc, previous, s.s3.notify_arn)
    except Exception as e:  # boto3's errors share no useful base class
        if notify.unknown_target(e):
            from pravah.storage.minio_wiring import known_arns

            arns = known_arns(s.s3)
            runs = "" if arns is None else f" (it runs {', '.join(arns)})" if arns else " (it runs none)"
            raise fail(f"stored as version {doc_id}, but the object store has no notification target {s.s3.notify_arn}{runs}: "
                       "fix PRAVAH_S3__NOTIFY_ARN, or let `pravah apply --wire-minio` make it") from None
        err.print(f"[red]error:[/] stored as version {doc_id}, but writing bucket notifications failed: {e}")
        err.print("run `pravah apply` again once the object store is reachable")
        raise typer.Exit(1) from None
    for p in doc.pipelines:
        out.print(f"pipeline {p.name}@{p.version}")
    for bucket, n in written.items():
        out.print(f"bucket {bucket}: {n} notification rule(s) → {s.s3.notify_arn}")
    out.print(f"applied document {doc_id}")


def wire(s: Settings, restart: bool) -> None:
    """`apply --wire-minio`: MinIO's Kafka target, before anything is stored, so that a refusal stores nothing."""
    from pravah.storage import minio_wiring

    try:
        w = minio_wiring.wire(s.s3, s.kafka, restart=restart)
    except minio_wiring.WiringError as e:
        raise fail(str(e)) from None
    t = w.target
    done = "restarted MinIO to start it" if w.restarted else "MinIO runs it already"
    out.print(f"minio target {s.s3.notify_arn}: {t.mode}, topic {t.topic}, brokers {t.brokers} ({done})", highlight=False)
    if not w.online:
        lost = "events wait in its queue store" if t.queue_dir else "events made meanwhile are dropped (the reconcile sweep makes their jobs)"
        err.print(f"[yellow]warning:[/] MinIO does not reach Kafka at {t.brokers} now: {lost}", highlight=False)


def serve(role: Annotated[str, typer.Argument(help="api, ingest, worker, relay, or all (comma-separated for several); "
                                            "controller (worker pools on Kubernetes) only by name.")] = "all",
          pool: Annotated[str | None, typer.Option(help="The worker claims only this pool's jobs (PRAVAH_WORKER__POOL; default: default).")] = None) -> None:
    """Run the server path against PostgreSQL, Kafka and S3/MinIO (settings: PRAVAH_* env vars).
    Without the api role, /healthz, /readyz and /metrics are served on PRAVAH_OPS__PORT (9100)."""
    from pravah.errors import StartupError
    from pravah.server import ROLES, Server

    if pool is not None:
        os.environ["PRAVAH_WORKER__POOL"] = pool  # validated with the other settings
    s = settings()
    if s.database_url is None:
        raise fail("serve needs PRAVAH_DATABASE_URL; for one machine without servers use `pravah up`", 2)
    roles = set(ROLES) if role == "all" else {r.strip() for r in role.split(",")}
    observe.setup(s, f"pravah-{next(iter(roles))}" if len(roles) == 1 else "pravah", "json")
    try:
        server = Server(s, roles)
    except (ValueError, StartupError) as e:
        raise fail(str(e), 2) from None
    try:
        anyio.run(server.run, backend_options={"use_uvloop": True})
    except KeyboardInterrupt:
        pass


def asyncapi_cmd() -> None:
    """Print the AsyncAPI document of Pravah's Kafka topics (docs/asyncapi.json)."""
    from pravah.bus import asyncapi

    print(json.dumps(json.loads(asyncapi(settings().kafka)), indent=2, sort_keys=True))
