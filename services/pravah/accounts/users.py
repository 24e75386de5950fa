"""Tenants and users: create, find, change (admin), and the bootstrap from settings."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.accounts import audit, passwords
from pravah.accounts.models import Role, Tenant, User
from pravah.accounts.principal import ROLE_PERMISSIONS, Principal
from pravah.errors import Conflict, Invalid, NotFound

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$")
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SCOPE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}(/[^\x00-\x1f\x7f]*)?$")


def now() -> datetime:
    return datetime.now(UTC)


def normalize_email(email: str) -> str:
    email = unicodedata.normalize("NFC", email.strip()).lower()
    if not EMAIL.match(email):
        raise Invalid(f"not an email address: {email!r}")
    return email


def check_scope(scope: str, what: str = "scope") -> str:
    """ "bucket" or "bucket/prefix/" with a valid bucket name and no `..` segment."""
    if not SCOPE.match(scope) or any(seg in (".", "..") for seg in scope.split("/")[1:]):
        raise Invalid(f"{what} {scope!r} is not bucket or bucket/prefix (lower-case bucket name, no '..', no control characters)")
    return scope


async def create_tenant(session: AsyncSession, name: str, scopes: list[str], inbox: str | None = None) -> Tenant:
    if not TENANT_NAME.match(name):
        raise Invalid(f"tenant name {name!r}: lower-case letters, digits, '-' and '_' only")
    if not scopes:
        raise Invalid("a tenant needs at least one scope (bucket or bucket/prefix)")
    scopes = [check_scope(s) for s in scopes]
    inbox = check_scope(inbox or scopes[0], "inbox")
    if await tenant_by_name(session, name) is not None:
        raise Conflict(f"tenant {name!r} exists")
    t = Tenant(id=uuid.uuid4().hex, name=name, scopes=scopes, inbox=inbox if "/" in inbox else inbox + "/", created_at=now())
    session.add(t)
    await session.flush()
    return t


async def tenant_by_name(session: AsyncSession, name: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one_or_none()


async def tenants(session: AsyncSession) -> list[Tenant]:
    return list((await session.execute(select(Tenant).order_by(Tenant.name))).scalars())


async def create_user(session: AsyncSession, email: str, password: str, tenant: Tenant, *, role: str = Role.USER,
                      display_name: str | None = None) -> User:
    email = normalize_email(email)
    if role not in ROLE_PERMISSIONS:
        raise Invalid(f"role {role!r}: expected user or admin")
    try:
        passwords.check_strength(password, email)
    except passwords.WeakPassword as e:
        raise Invalid(str(e)) from None
    if await user_by_email(session, email) is not None:
        raise Conflict(f"a user with email {email} exists")
    u = User(id=uuid.uuid4().hex, email=email, display_name=(display_name or email.split("@")[0])[:128],
             password_hash=passwords.hash_password(password), tenant_id=tenant.id, role=role, disabled=False,
             failed_logins=0, created_at=now())
    session.add(u)
    await session.flush()
    return u


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: str) -> User:
    u = await session.get(User, user_id)
    if u is None:
        raise NotFound(f"no user {user_id}")
    return u


async def users(session: AsyncSession, tenant_id: str | None = None) -> list[tuple[User, Tenant]]:
    q = select(User, Tenant).join(Tenant, User.tenant_id == Tenant.id).order_by(User.email)
    if tenant_id:
        q = q.where(User.tenant_id == tenant_id)
    return [(u, t) for u, t in (await session.execute(q)).all()]


async def count_admins(session: AsyncSession) -> int:
    q = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.disabled.is_(False))
    return (await session.execute(q)).scalar_one()


async def update_user(session: AsyncSession, user: User, by: Principal, origin: audit.Origin, *, role: str | None = None,
                      disabled: bool | None = None, unlock: bool = False, password: str | None = None,
                      display_name: str | None = None) -> User:
    """An admin's change to a user, audited; the last active admin cannot demote or disable itself away."""
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        if role not in ROLE_PERMISSIONS:
            raise Invalid(f"role {role!r}: expected user or admin")
        changes["role"] = role
    if disabled is not None and disabled != user.disabled:
        changes["disabled"] = disabled
    if ("role" in changes or changes.get("disabled")) and user.role == Role.ADMIN and await count_admins(session) <= 1:
        raise Conflict("this is the last active admin; make another admin first")
    if password is not None:
        try:
            passwords.check_strength(password, user.email)
        except passwords.WeakPassword as e:
            raise Invalid(str(e)) from None
        user.password_hash = passwords.hash_password(password)
        changes["password"] = "changed"
    if display_name is not None:
        changes["display_name"] = display_name[:128]
    if unlock:
        user.failed_logins, user.locked_until, user.last_failed_at = 0, None, None
        changes["unlocked"] = True
    for k, v in changes.items():
        if k in ("role", "disabled", "display_name"):
            setattr(user, k, v)
    if changes:
        audit.record(session, "user.updated", origin, actor=by, target=user.email, tenant_id=user.tenant_id, changes=changes)
    return user


def principal_for(user: User, tenant: Tenant) -> Principal:
    return Principal(kind="user", id=user.id, name=user.email, tenant_id=tenant.id, tenant=tenant.name, role=user.role,
                     scopes=tuple(tenant.scopes), inbox=tenant.inbox, permissions=ROLE_PERMISSIONS[user.role], user_id=user.id)
