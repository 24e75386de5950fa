"""The `pravah` command line."""

from __future__ import annotations

import sys

import typer

from pravah.cli import admin, batch, dryrun, inspect, local, remote, scan

app = typer.Typer(help="Pravah: uploads in, processed data out.", no_args_is_help=True, add_completion=False)
app.command()(local.validate)
app.command()(local.run)
app.command()(local.up)
app.command()(local.apply)
app.command()(local.serve)
app.command("asyncapi")(local.asyncapi_cmd)
app.command()(remote.login)
app.command()(remote.logout)
app.command()(remote.whoami)
app.command("upload")(remote.upload_cmd)
app.command("dry-run")(dryrun.dry_run_cmd)
app.command()(inspect.inspect)
app.command()(scan.scan)
app.command()(batch.backfill)
app.command()(batch.reprocess)
app.add_typer(remote.jobs_app, name="jobs")
app.add_typer(remote.keys_app, name="keys")
app.add_typer(batch.backfills_app, name="backfills")
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.tenants_app, name="tenants")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
