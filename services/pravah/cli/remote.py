"""Commands that talk to a running API (`pravah up` or `pravah serve api`): sign in, keys,
jobs, uploads, live watching. PRAVAH_URL says where; see cli/client.py for credentials."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from pravah.cli.client import ApiError, Client, save_session
from pravah.cli.common import err, fail, out
from pravah.cli.upload import UploadFailed, describe, upload, wait_for_job

keys_app = typer.Typer(help="API keys for machines (shown once, stored hashed).", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: list, inspect, submit, retry, cancel, watch live.", no_args_is_help=True)
UrlOpt = Annotated[str | None, typer.Option("--url", help="API address (default PRAVAH_URL or http://127.0.0.1:8787).")]
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@contextmanager
def client(url: str | None) -> Iterator[Client]:
    c = Client(url)
    try:
        yield c
    except ApiError as e:
        raise fail(str(e)) from None
    finally:
        c.close()


def login(
    email: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    url: UrlOpt = None,
) -> None:
    """Sign in and keep the session (refreshed as needed) in ~/.config/pravah/credentials.json."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt("password", hide_input=True)
    with client(url) as c:
        r = c.http.post("/v1/auth/sign-in", json={"email": email, "password": password})
        if r.status_code != 200:
            detail = r.json().get("detail", r.text) if r.headers.get("content-type", "").startswith("application/json") else r.text
            raise fail(f"{detail} (HTTP {r.status_code})")
        tokens = r.json()
        save_session(c.url, tokens)
        me = tokens["me"]
    out.print(f"signed in to {c.url} as {me['name']} ({me['role']}, tenant {me['tenant']})")


def logout(url: UrlOpt = None) -> None:
    """Revoke the saved session and forget it."""
    with client(url) as c:
        if c._session:
            c.http.post("/v1/auth/sign-out", json={"refresh_token": c._session["refresh_token"]})
        save_session(c.url, None)
    out.print("signed out")


def whoami(url: UrlOpt = None) -> None:
    """Who the current credentials belong to."""
    with client(url) as c:
        me = c.get("/v1/me")
    out.print(f"{me['name']} ({me['kind']}, {me['role']}) tenant {me['tenant']}; scopes {', '.join(me['scopes']) or 'all'}; "
              f"inbox {me['inbox']}; rights {', '.join(me['permissions'])}", highlight=False)


@keys_app.command("create")
def keys_create(
    name: str,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="read, write, admin, metrics (repeatable; default read, write).")] = None,
    expires: Annotated[datetime | None, typer.Option(help="Expiry (ISO 8601).")] = None,
    url: UrlOpt = None,
) -> None:
    """Create a key for yourself; it is printed once."""
    with client(url) as c:
        k = c.post("/v1/keys", {"name": name, "scopes": scope, "expires_at": expires.isoformat() if expires else None})
    err.print(f"key {k['prefix']} ({', '.join(k['scopes'])}) — store it now, it is not shown again:")
    print(k["key"])


@keys_app.command("ls")
def keys_ls(url: UrlOpt = None) -> None:
    """Your keys (administrators: all)."""
    with client(url) as c:
        rows = c.get("/v1/keys")
    t = Table("id", "prefix", "name", "scopes", "expires", "last used", "revoked")
    for k in rows:
        t.add_row(k["id"][:12], k["prefix"], k["name"], ",".join(k["scopes"]), k["expires_at"] or "", k["last_used_at"] or "", k["revoked_at"] or "")
    out.print(t)


@keys_app.command("revoke")
def keys_revoke(key_id: str, url: UrlOpt = None) -> None:
    """Revoke a key (its id or a unique id prefix)."""
    with client(url) as c:
        matches = [k for k in c.get("/v1/keys") if k["id"].startswith(key_id) or k["prefix"] == key_id]
        if len(matches) != 1:
            raise fail(f"{'no key' if not matches else 'more than one key'} matches {key_id!r}")
        c.delete(f"/v1/keys/{matches[0]['id']}")
    out.print(f"revoked {matches[0]['prefix']}")


@jobs_app.command("ls")
def jobs_ls(
    status: Annotated[str | None, typer.Option(help="PENDING, RUNNING, SUCCEEDED, FAILED or CANCELLED.")] = None,
    pipeline: Annotated[str | None, typer.Option()] = None,
    prefix: Annotated[str | None, typer.Option(help="Input key prefix.")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    url: UrlOpt = None,
) -> None:
    """List jobs, newest first."""
    params = {k: v for k, v in {"status": status, "pipeline": pipeline, "prefix": prefix, "limit": limit}.items() if v is not None}
    with client(url) as c:
        rows = c.get("/v1/jobs", params=params)["items"]
    if as_json:
        print(json.dumps(rows))
        return
    t = Table("id", "object", "pipeline", "status", "attempts", "error")
    for r in rows:
        t.add_row(r["id"][:12], f"{r['bucket']}/{r['key']}", r["pipeline"], r["status"], str(r["attempts"]), (r["error"] or "")[:80])
    out.print(t)


def _resolve(c: Client, job_id: str) -> str:
    """A full id from an id or a unique prefix of a recent job."""
    if len(job_id) == 32:
        return job_id
    matches = [j["id"] for j in c.get("/v1/jobs", params={"limit": 500})["items"] if j["id"].startswith(job_id)]
    if len(matches) != 1:
        raise fail(f"{'no recent job' if not matches else 'more than one job'} matches {job_id!r}")
    return matches[0]


@jobs_app.command("show")
def jobs_show(job_id: str, url: UrlOpt = None) -> None:
    """One job with its log and outputs (a unique id prefix of a recent job is enough)."""
    with client(url) as c:
        j = c.get(f"/v1/jobs/{_resolve(c, job_id)}")
    out.print(f"[bold]{j['id']}[/] {j['status']}  {j['bucket']}/{j['key']} → {j['output_bucket']}/{j['output_key']}")
    out.print(f"pipeline {j['pipeline']}@{j['pipeline_version']}  attempts {j['attempts']}/{j['max_attempts']}  run {j['run']}")
    if j["error"]:
        out.print(f"[red]error:[/] {j['error']}", highlight=False)
    for line in j["log"]:
        out.print(f"  {line}", highlight=False)
    if j["report"]:
        out.print_json(json.dumps(j["report"]))
    _warn_rejects(j)


@jobs_app.command("submit")
def jobs_submit(
    obj: Annotated[str, typer.Argument(metavar="BUCKET/KEY", help="An object that exists.")],
    pipeline: Annotated[str | None, typer.Option(help="Default: the pipeline bound to the key.")] = None,
    watch_it: Annotated[bool, typer.Option("--watch", help="Then watch it live.")] = False,
    url: UrlOpt = None,
) -> None:
    """Run a pipeline on an existing object (the same object version never runs twice)."""
    bucket, _, key = obj.partition("/")
    if not key:
        raise fail(f"{obj!r} is not BUCKET/KEY", 2)
    with client(url) as c:
        r = c.request("POST", "/v1/jobs", json={"bucket": bucket, "key": key, "pipeline": pipeline})
        j = r.json()
    out.print(f"job {j['id']} {j['status']} ({'new' if r.status_code == 201 else 'existed already'}) {j['pipeline']}@{j['pipeline_version']}")
    if watch_it:
        watch(j["id"], url=url)


@jobs_app.command("retry")
def jobs_retry(job_id: str, url: UrlOpt = None) -> None:
    """Run a FAILED or CANCELLED job again."""
    with client(url) as c:
        j = c.post(f"/v1/jobs/{_resolve(c, job_id)}/retry")
    out.print(f"job {j['id']} {j['status']} (run {j['run']})")


@jobs_app.command("cancel")
def jobs_cancel(job_id: str, url: UrlOpt = None) -> None:
    """Cancel a PENDING job, or stop a RUNNING one."""
    with client(url) as c:
        j = c.post(f"/v1/jobs/{_resolve(c, job_id)}/cancel")
    out.print(f"job {j['id']} {j['status']}" + (" — cancel requested; it stops within about a second" if j["status"] == "RUNNING" else ""))


@jobs_app.command("watch")
def watch(job_id: str, url: UrlOpt = None) -> None:
    """Follow a job live (progress bar, log lines) and exit with its outcome: 0 SUCCEEDED, 1 otherwise."""
    status = None
    with client(url) as c:
        job_id = _resolve(c, job_id)
        last: int | None = None
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=err) as bar:
            task = bar.add_task(job_id[:12], total=None)
            while status not in FINAL:
                try:
                    for event, ident, data in c.stream_events(f"/v1/jobs/{job_id}/events", last):
                        last = ident if ident is not None else last
                        if event == "snapshot":
                            status = data["status"]
                            bar.update(task, description=f"{job_id[:12]} {status}")
                            if data.get("progress"):
                                bar.update(task, completed=data["progress"]["bytes_in"], total=data["progress"].get("input_size") or None)
                        elif event == "progress":
                            bar.update(task, completed=data["bytes_in"], total=data.get("input_size") or None)
                        elif event == "status":
                            status = data["status"]
                            bar.update(task, description=f"{job_id[:12]} {status}")
                        elif event == "log":
                            bar.console.print(f"  {data['at'][11:19]} {data['line']}", highlight=False, markup=False)
                        elif event == "end":
                            status = data["status"]
                except ApiError as e:
                    if e.status in (401, 403, 404):
                        raise
                    bar.console.print(f"  live updates paused ({e}); reconnecting", style="yellow")
        j = c.get(f"/v1/jobs/{job_id}")
    colour = "green" if status == "SUCCEEDED" else "red"
    out.print(f"[{colour}]{status}[/] {j['bucket']}/{j['key']}" + (f": {j['error']}" if j["error"] else ""), highlight=False)
    for n, o in enumerate(j["outputs"]):
        out.print(f"  output {n}: {o['bucket']}/{o['key']} ({o['size']:,} bytes) — `pravah jobs download {job_id[:12]}`", highlight=False)
    _warn_rejects(j)
    raise typer.Exit(0 if status == "SUCCEEDED" else 1)


def _warn_rejects(j: dict[str, Any]) -> None:
    if j.get("rows_rejected"):
        where = f" → {j['rejects']['bucket']}/{j['rejects']['key']} (`pravah jobs download {j['id'][:12]} --rejects`)" if j.get("rejects") else " (skipped)"
        out.print(f"  [yellow]warning:[/] {j['rows_rejected']:,} bad row(s) set aside{where}", highlight=False)


@jobs_app.command("download")
def jobs_download(
    job_id: str,
    n: Annotated[int, typer.Option("--output", "-n", help="Which output (0-based).")] = 0,
    to: Annotated[Path | None, typer.Option("--to", "-o", help="File or folder (default: the output's name, here).")] = None,
    rejects: Annotated[bool, typer.Option("--rejects", help="The quarantined bad rows (JSON lines) instead of an output.")] = False,
    url: UrlOpt = None,
) -> None:
    """Download an output (or the rejects) of a succeeded job through its presigned URL."""
    import httpx

    with client(url) as c:
        job = _resolve(c, job_id)
        d = c.get(f"/v1/jobs/{job}/rejects" if rejects else f"/v1/jobs/{job}/outputs/{n}")
    name = d["output"]["key"].rsplit("/", 1)[-1]
    dst = (to / name if to.is_dir() else to) if to else Path(name)
    tmp = dst.with_name(f".{dst.name}.part")
    with httpx.stream("GET", d["url"], timeout=60.0) as r, tmp.open("wb") as f:
        if r.status_code != 200:
            raise fail(f"download failed: HTTP {r.status_code}")
        for chunk in r.iter_bytes(1 << 20):
            f.write(chunk)
    tmp.replace(dst)
    out.print(f"{dst} ({dst.stat().st_size:,} bytes)")


def upload_cmd(
    files: Annotated[list[Path], typer.Argument(help="Files to upload.", exists=True, dir_okay=False, readable=True)],
    to: Annotated[str | None, typer.Option("--to", help="bucket/folder/ inside your scopes (default: your inbox).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an unfinished upload of the same file (name, size, mtime).")] = False,
    parallel: Annotated[int, typer.Option(help="Parts in flight at once.", min=1, max=32)] = 4,
    watch_it: Annotated[bool, typer.Option("--watch", help="Then watch the job it started.")] = False,
    url: UrlOpt = None,
) -> None:
    """Upload files straight to object storage in parallel parts; print the job each one started."""
    jobs_started: list[str] = []
    with client(url) as c, Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                    TimeRemainingColumn(), console=err) as bar:
        for path in files:
            task = bar.add_task(path.name, total=path.stat().st_size)

            def started(u: dict, done: int, resumed: bool, task: int = task) -> None:
                bar.update(task, completed=done)
                if resumed:
                    kept = u["parts"] - len(u["missing_parts"])
                    bar.console.print(f"resuming upload {u['id']}: {kept} of {u['parts']} parts already stored", highlight=False)

            try:
                u = upload(c, path, to, resume=resume, parallel=parallel, on_start=started,
                           on_bytes=lambda k, task=task: bar.advance(task, k))
            except UploadFailed as e:
                raise fail(f"{e}; run again with --resume to send only the missing parts") from None
            bar.console.print(f"{path} → {describe(u)}", highlight=False)
            job = wait_for_job(c, u)
            if job:
                jobs_started.append(job)
                bar.console.print(f"  job {job}", highlight=False)
            elif u.get("will_run"):
                bar.console.print("  no job yet (ingest has not seen the object); see `pravah jobs ls`", style="yellow")
    if watch_it and jobs_started:
        for job in jobs_started:
            try:
                watch(job, url=url)
            except typer.Exit as e:
                if e.exit_code:
                    raise
