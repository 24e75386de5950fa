"""API keys for machines: `pvh_<8 hex>_<secret>`, shown once; the `pvh_<8 hex>` prefix stays
visible to tell keys apart, the whole key is stored only as its SHA-256 (looked up by it).
Bootstrap tenants from PRAVAH_TENANTS get a key whose secret is their configured token."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.accounts import audit, tokens
from pravah.accounts.models import ApiKey, Role, Tenant
from pravah.accounts.principal import ADMIN, PERMISSIONS, READ, WRITE, Principal
from pravah.clock import aware
from pravah.errors import Forbidden, Invalid, NotFound

PREFIX = "pvh_"


async def create(session: AsyncSession, owner: Principal, name: str, scopes: list[str] | None, expires_at: datetime | None,
                 origin: audit.Origin) -> tuple[ApiKey, str]:
    """A new key for `owner`, with at most the owner's permissions. Returns (row, the key)."""
    scopes = list(dict.fromkeys(scopes or [READ, WRITE]))
    unknown = [s for s in scopes if s not in PERMISSIONS]
    if unknown:
        raise Invalid(f"unknown key scope(s) {', '.join(unknown)}; expected {', '.join(PERMISSIONS)}")
    beyond = [s for s in scopes if s not in owner.permissions]
    if beyond:
        raise Forbidden(f"a key cannot have more rights than its owner: {', '.join(beyond)}")
    if not name.strip():
        raise Invalid("a key needs a name")
    if expires_at is not None and aware(expires_at) <= datetime.now(UTC):
        raise Invalid("expires_at is in the past")
    if owner.tenant_id is None:
        raise Invalid("open mode has no tenants; keys exist only with accounts")
    prefix = f"{PREFIX}{secrets.token_hex(4)}"
    key = f"{prefix}_{tokens.new_secret()}"
    row = ApiKey(id=uuid.uuid4().hex, prefix=prefix, token_hash=tokens.digest(key), name=name.strip()[:128], tenant_id=owner.tenant_id,
                 user_id=owner.user_id, role=Role.ADMIN if ADMIN in scopes else Role.USER, scopes=scopes,
                 created_at=datetime.now(UTC), expires_at=expires_at)
    session.add(row)
    audit.record(session, "key.created", origin, actor=owner, target=prefix, name_of_key=row.name, scopes=scopes)
    await session.flush()
    return row, key


async def listed(session: AsyncSession, caller: Principal) -> list[ApiKey]:
    """The caller's keys; an admin sees every key."""
    q = select(ApiKey).order_by(ApiKey.created_at.desc())
    if not caller.is_admin:
        q = q.where(ApiKey.user_id == caller.user_id)
    return list((await session.execute(q)).scalars())


async def revoke(session: AsyncSession, caller: Principal, key_id: str, origin: audit.Origin) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None or not (caller.is_admin or (caller.user_id is not None and row.user_id == caller.user_id)):
        raise NotFound(f"no key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        audit.record(session, "key.revoked", origin, actor=caller, target=row.prefix, tenant_id=row.tenant_id)
    return row


async def resolve(session: AsyncSession, secret: str) -> tuple[ApiKey, Tenant] | None:
    """The live key (not revoked, not expired) and its tenant for a presented secret."""
    row = (await session.execute(select(ApiKey).where(ApiKey.token_hash == tokens.digest(secret)))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and aware(row.expires_at) <= datetime.now(UTC):
        return None
    return row, await session.get(Tenant, row.tenant_id)


def principal_for(key: ApiKey, tenant: Tenant) -> Principal:
    perms = frozenset(key.scopes)
    role = Role.ADMIN if key.role == Role.ADMIN and ADMIN in perms else Role.USER
    return Principal(kind="key", id=key.id, name=key.prefix, tenant_id=tenant.id, tenant=tenant.name, role=role,
                     scopes=tuple(tenant.scopes), inbox=tenant.inbox, permissions=perms, user_id=key.user_id)



async def bootstrap(session: AsyncSession, tenant: Tenant, secret: str, rights: list[str]) -> None:
    """Make `secret` a key of `tenant` with `rights` (the latest configuration wins)."""
    digest = tokens.digest(secret)
    role = Role.ADMIN if ADMIN in rights else Role.USER
    existing = (await session.execute(select(ApiKey).where(ApiKey.token_hash == digest))).scalar_one_or_none()
    if existing is not None:
        if existing.tenant_id != tenant.id:
            raise Invalid(f"the token of bootstrap tenant {tenant.name} is already a key of another tenant")
        existing.scopes, existing.role, existing.revoked_at = list(rights), role, None
        return
    prefix = f"boot_{tenant.name}"[:32]
    old = (await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))).scalar_one_or_none()
    if old is not None:  # the token changed: the old one stops working
        old.prefix, old.revoked_at = f"{prefix[:23]}_{old.id[:8]}", old.revoked_at or datetime.now(UTC)
    session.add(ApiKey(id=uuid.uuid4().hex, prefix=prefix, token_hash=digest, name=f"bootstrap key of {tenant.name}",
                       tenant_id=tenant.id, user_id=None, role=role, scopes=list(rights), created_at=datetime.now(UTC)))
