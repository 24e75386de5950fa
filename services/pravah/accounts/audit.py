"""The audit log: who did what security-relevant thing, when, from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.accounts.models import AuditEvent
from pravah.accounts.principal import Principal


@dataclass(frozen=True)
class Origin:
    """Where a request came from (the transport fills it in)."""

    ip: str | None = None
    user_agent: str | None = None


NOWHERE = Origin()


def record(session: AsyncSession, action: str, origin: Origin, *, actor: Principal | None = None, name: str | None = None,
           user_id: str | None = None, tenant_id: str | None = None, target: str | None = None, **detail: Any) -> None:
    """Add an audit row to the session; it commits with the change it records."""
    session.add(AuditEvent(
        at=datetime.now(UTC), action=action, actor=name or (actor.name if actor else None),
        user_id=user_id or (actor.user_id if actor else None), tenant_id=tenant_id or (actor.tenant_id if actor else None),
        ip=origin.ip, user_agent=(origin.user_agent or "")[:256] or None, target=target, detail=detail,
    ))


async def recent(session: AsyncSession, *, action: str | None = None, tenant_id: str | None = None,
                 before: int | None = None, limit: int = 100) -> list[AuditEvent]:
    q = select(AuditEvent)
    if action:
        q = q.where(AuditEvent.action == action)
    if tenant_id:
        q = q.where(AuditEvent.tenant_id == tenant_id)
    if before:
        q = q.where(AuditEvent.id < before)
    return list((await session.execute(q.order_by(AuditEvent.id.desc()).limit(limit))).scalars())
