"""/v1/users, /v1/tenants, /v1/audit (administrators) and /v1/keys (any signed-in caller, for
its own keys; administrators see all)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictBool

from pravah.accounts import audit, keys, users
from pravah.accounts.models import ApiKey, Tenant, User
from pravah.api.openapi import IsoTime, error
from pravah.api.deps import Admin, Caller, OriginDep, SessionDep
from pravah.errors import Forbidden, NotFound

router = APIRouter(prefix="/v1", tags=["accounts"])


class TenantIn(BaseModel):
    name: str = Field(max_length=64)
    scopes: list[str] = Field(min_length=1, max_length=100)
    inbox: str | None = Field(None, max_length=1024)


class TenantOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    inbox: str
    created_at: datetime
    model_config = {"from_attributes": True}


class UserIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    tenant: str = Field(max_length=64, description="Tenant name.")
    role: str = "user"
    display_name: str | None = Field(None, max_length=128)


class UserPatch(BaseModel):
    role: str | None = None
    disabled: StrictBool | None = None
    unlock: StrictBool = False
    password: str | None = Field(None, max_length=1024)
    display_name: str | None = Field(None, max_length=128)


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    tenant: str
    role: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class KeyIn(BaseModel):
    name: str = Field(max_length=128)
    scopes: list[str] | None = Field(None, description="read, write, admin, metrics; default read + write.")
    expires_at: IsoTime | None = None


class KeyOut(BaseModel):
    id: str
    prefix: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    model_config = {"from_attributes": True}


class NewKey(KeyOut):
    key: str = Field(description="The whole key: shown this once, stored only as a hash.")


class AuditOut(BaseModel):
    id: int
    at: datetime
    action: str
    actor: str | None
    tenant_id: str | None
    ip: str | None
    user_agent: str | None
    target: str | None
    detail: dict
    model_config = {"from_attributes": True}


def user_out(u: User, t: Tenant) -> UserOut:
    return UserOut(id=u.id, email=u.email, display_name=u.display_name, tenant=t.name, role=u.role, disabled=u.disabled,
                   failed_logins=u.failed_logins, locked_until=u.locked_until, last_login_at=u.last_login_at, created_at=u.created_at)


@router.get("/tenants", response_model=list[TenantOut])
async def list_tenants(_: Admin, session: SessionDep) -> list[Tenant]:
    """Administrators."""
    return await users.tenants(session)


@router.post("/tenants", response_model=TenantOut, status_code=201, responses={409: error("A tenant of that name exists.")})
async def create_tenant(body: TenantIn, caller: Admin, session: SessionDep, origin: OriginDep) -> Tenant:
    """Administrators."""
    t = await users.create_tenant(session, body.name, body.scopes, body.inbox)
    audit.record(session, "tenant.created", origin, actor=caller, target=t.name, scopes=t.scopes)
    await session.commit()
    return t


@router.get("/users", response_model=list[UserOut])
async def list_users(_: Admin, session: SessionDep) -> list[UserOut]:
    """Administrators."""
    return [user_out(u, t) for u, t in await users.users(session)]


@router.post("/users", response_model=UserOut, status_code=201, responses={404: error("No such tenant."), 409: error("A user with that email exists.")})
async def create_user(body: UserIn, caller: Admin, session: SessionDep, origin: OriginDep) -> UserOut:
    """Administrators."""
    tenant = await users.tenant_by_name(session, body.tenant)
    if tenant is None:
        raise NotFound(f"no tenant {body.tenant!r}")
    u = await users.create_user(session, body.email, body.password, tenant, role=body.role, display_name=body.display_name)
    audit.record(session, "user.created", origin, actor=caller, target=u.email, tenant_id=tenant.id, role=u.role)
    await session.commit()
    return user_out(u, tenant)


@router.patch("/users/{user_id}", response_model=UserOut, responses={409: error("That would leave no active administrator.")})
async def update_user(user_id: str, body: UserPatch, caller: Admin, session: SessionDep, origin: OriginDep, request: Request) -> UserOut:
    """Administrators: role, disabled, unlock, password, display name."""
    u = await users.get_user(session, user_id)
    await users.update_user(session, u, caller, origin, role=body.role, disabled=body.disabled, unlock=body.unlock,
                            password=body.password, display_name=body.display_name)
    await session.commit()
    request.app.state.ctx.auth.forget()  # at once here; other processes within their cache's seconds
    return user_out(u, await session.get(Tenant, u.tenant_id))


@router.get("/keys", response_model=list[KeyOut])
async def list_keys(caller: Caller, session: SessionDep) -> list[ApiKey]:
    """Any identity: its user's keys (administrators: every key)."""
    return await keys.listed(session, caller)


@router.post("/keys", response_model=NewKey, status_code=201)
async def create_key(body: KeyIn, caller: Caller, session: SessionDep, origin: OriginDep) -> NewKey:
    """A signed-in user (not a key: keys do not mint keys), for itself, with at most its rights."""
    if caller.kind != "user":
        raise Forbidden("API keys are created by a signed-in user, not by another key")
    row, secret = await keys.create(session, caller, body.name, body.scopes, body.expires_at, origin)
    await session.commit()
    return NewKey(key=secret, **KeyOut.model_validate(row).model_dump())


@router.delete("/keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, caller: Caller, session: SessionDep, origin: OriginDep, request: Request) -> Response:
    """Any identity, for its user's keys; administrators for any key."""
    await keys.revoke(session, caller, key_id, origin)
    await session.commit()
    request.app.state.ctx.auth.forget()
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditOut])
async def audit_log(
    _: Admin, session: SessionDep,
    action: Annotated[str | None, Query(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64, description="e.g. job.submitted, user.created.")] = None,
    tenant_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="`id` of the last row of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list:
    """Administrators: newest first."""
    return await audit.recent(session, action=action, tenant_id=tenant_id, before=before, limit=limit)

