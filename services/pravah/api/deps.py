"""Dependencies as Annotated aliases so routes read like documentation."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.settings import Tenant


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as s:
        yield s


def _tenant(request: Request) -> Tenant | None:
    """The caller's tenant from its bearer token; None when no tenants are configured (the
    embedded API on loopback is open). A missing or unknown token is a 401."""
    tenants: list[Tenant] = request.app.state.tenants
    if not tenants:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        for t in tenants:
            if hmac.compare_digest(t.token.encode(), token.strip().encode()):
                return t
    raise HTTPException(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})


SessionDep = Annotated[AsyncSession, Depends(_session)]
TenantDep = Annotated[Tenant | None, Depends(_tenant)]
