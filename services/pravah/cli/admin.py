"""Operator commands straight on the database (PRAVAH_DATABASE_URL, or embedded mode's SQLite
under --home): tenants and users, including the first administrator."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import anyio
import typer
from rich.table import Table

from pravah.cli.common import HomeOpt, domain_errors, fail, out, settings

if TYPE_CHECKING:  # the database and password layers load only when a command runs (every `pravah` call imports this module)
    from sqlalchemy.ext.asyncio import AsyncSession

    from pravah.accounts import users

tenants_app = typer.Typer(help="Tenants: what their users see and where their uploads land.", no_args_is_help=True)
users_app = typer.Typer(help="Users (passwords hashed with argon2id).", no_args_is_help=True)
T = TypeVar("T")
OPERATOR_AGENT = "pravah cli"


def _operator():  # noqa: ANN202  (audit.Origin, imported with the command)
    from pravah.accounts import audit

    return audit.Origin(ip=None, user_agent=OPERATOR_AGENT)


def on_db(home: Path | None, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from pravah.db.session import make_engine, migrate, sessions

    s = settings(home=home)
    if s.database_url is None:
        s.home.mkdir(parents=True, exist_ok=True)  # embedded mode: the first command may come before `pravah up`
    migrate(s.db_url)
    eng = make_engine(s.db_url)

    async def go() -> T:
        try:
            async with sessions(eng)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await eng.dispose()

    with domain_errors():
        return anyio.run(go)


async def _tenant(s: AsyncSession, name: str, scopes: list[str], inbox: str | None) -> users.Tenant:
    from pravah.accounts import audit, users

    t = await users.create_tenant(s, name, scopes, inbox)
    audit.record(s, "tenant.created", _operator(), name="operator", target=t.name, scopes=t.scopes)
    return t


@tenants_app.command("create")
def tenants_create(
    name: str,
    scope: Annotated[list[str], typer.Option("--scope", help="bucket or bucket/prefix/ its users see (repeatable).")],
    inbox: Annotated[str | None, typer.Option(help="bucket/prefix/ uploads go to by default (default: the first scope).")] = None,
    home: HomeOpt = None,
) -> None:
    """Create a tenant."""
    t = on_db(home, lambda s: _tenant(s, name, scope, inbox))
    out.print(f"tenant {t.name}: scopes {', '.join(t.scopes)}; inbox {t.inbox}")


@tenants_app.command("ls")
def tenants_ls(home: HomeOpt = None) -> None:
    """List tenants."""
    from pravah.accounts import users

    rows = on_db(home, users.tenants)
    t = Table("name", "scopes", "inbox")
    for r in rows:
        t.add_row(r.name, ", ".join(r.scopes), r.inbox)
    out.print(t)


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("create")
def users_create(
    email: str,
    tenant: Annotated[str, typer.Option(help="Tenant name.")] = "default",
    admin: Annotated[bool, typer.Option("--admin", help="An administrator: sees every tenant, manages users.")] = False,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Create the tenant with these scopes if it does not exist.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    home: HomeOpt = None,
) -> None:
    """Create a user (the first administrator: `pravah users create you@example.com --admin --scope inbox`)."""
    from pravah.accounts import audit, users
    from pravah.accounts.models import Role

    password = _password(password_stdin)

    async def work(s: AsyncSession) -> users.User:
        t = await users.tenant_by_name(s, tenant)
        if t is None:
            if not scope:
                raise fail(f"no tenant {tenant!r}: create it with `pravah tenants create {tenant} --scope BUCKET[/PREFIX/]`, "
                           "or pass --scope here", 2)
            t = await _tenant(s, tenant, scope, None)
        u = await users.create_user(s, email, password, t, role=Role.ADMIN if admin else Role.USER, display_name=name)
        audit.record(s, "user.created", _operator(), name="operator", target=u.email, tenant_id=t.id, role=u.role)
        return u

    u = on_db(home, work)
    out.print(f"user {u.email} ({u.role}) in tenant {tenant}")


@users_app.command("ls")
def users_ls(home: HomeOpt = None) -> None:
    """List users."""
    from pravah.accounts import users

    rows = on_db(home, users.users)
    t = Table("email", "tenant", "role", "disabled", "failed sign-ins", "locked until")
    for u, tn in rows:
        t.add_row(u.email, tn.name, u.role, "yes" if u.disabled else "", str(u.failed_logins or ""), str(u.locked_until or ""))
    out.print(t)


@users_app.command("update")
def users_update(
    email: str,
    role: Annotated[str | None, typer.Option(help="user or admin.")] = None,
    disable: Annotated[bool | None, typer.Option("--disable/--enable")] = None,
    unlock: Annotated[bool, typer.Option("--unlock", help="Clear failed sign-ins and a lock.")] = False,
    reset_password: Annotated[bool, typer.Option("--reset-password", help="Set a new password (prompted, or --password-stdin).")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    home: HomeOpt = None,
) -> None:
    """Change a user's role, enable/disable, unlock, or reset its password."""
    from pravah.accounts import users
    from pravah.accounts.principal import LOCAL

    password = _password(password_stdin) if reset_password else None

    async def work(s: AsyncSession) -> users.User:
        u = await users.user_by_email(s, email)
        if u is None:
            raise fail(f"no user {email}")
        return await users.update_user(s, u, LOCAL, _operator(), role=role, disabled=disable, unlock=unlock, password=password)

    u = on_db(home, work)
    out.print(f"user {u.email}: {u.role}{', disabled' if u.disabled else ''}")
