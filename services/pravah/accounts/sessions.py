"""Sign-in (with slow-down and lockout), refresh-token rotation with reuse detection, sign-out."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.accounts import audit, passwords, tokens
from pravah.accounts.models import RefreshToken, Tenant, User
from pravah.accounts.users import user_by_email
from pravah.clock import aware
from pravah.errors import Throttled, Unauthorized
from pravah.settings import AuthSettings


@dataclass(frozen=True)
class Issued:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: User
    tenant: Tenant


async def _issue(session: AsyncSession, signer: tokens.Signer, cfg: AuthSettings, user: User, tenant: Tenant,
                 family: str | None = None) -> Issued:
    t = datetime.now(UTC)
    secret = tokens.new_secret()
    row = RefreshToken(id=uuid.uuid4().hex, family=family or uuid.uuid4().hex, user_id=user.id, token_hash=tokens.digest(secret),
                       created_at=t, expires_at=t + timedelta(seconds=cfg.refresh_ttl_seconds))
    session.add(row)
    access, exp = signer.issue(user.id, tenant.id, user.role, user.email, t)
    return Issued(access, exp, f"{row.id}.{secret}", row.expires_at, user, tenant)


async def sign_in(session: AsyncSession, signer: tokens.Signer, cfg: AuthSettings, email: str, password: str,
                  origin: audit.Origin) -> Issued:
    """Check the password; commits the outcome (a failure is counted and audited too).
    After `slowdown_after` failures each attempt must wait 1 s, 2 s, 4 s … after the last one;
    `lockout_after` failures in a row lock the account for `lockout_seconds`."""
    t = datetime.now(UTC)
    user = await user_by_email(session, email)
    if user is not None:
        locked = aware(user.locked_until)
        if locked is not None and locked > t:
            raise Throttled(f"account locked after {cfg.lockout_after} failed sign-ins; try again after {locked:%H:%M:%S} UTC",
                            int((locked - t).total_seconds()) + 1)
        if user.failed_logins >= cfg.slowdown_after and user.last_failed_at is not None:
            wait = min(2 ** (user.failed_logins - cfg.slowdown_after), cfg.lockout_seconds)
            ready = aware(user.last_failed_at) + timedelta(seconds=wait)
            if ready > t:
                raise Throttled(f"too many failed sign-ins; wait {(ready - t).total_seconds():.0f} s", int((ready - t).total_seconds()) + 1)
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled:
        if user is not None and not user.disabled:
            user.failed_logins += 1
            user.last_failed_at = t
            if user.failed_logins >= cfg.lockout_after:
                user.locked_until = t + timedelta(seconds=cfg.lockout_seconds)
                audit.record(session, "auth.locked", origin, name=user.email, user_id=user.id, tenant_id=user.tenant_id,
                             failures=user.failed_logins)
        audit.record(session, "auth.sign_in_failed", origin, name=email.strip().lower()[:254], user_id=user.id if user else None,
                     tenant_id=user.tenant_id if user else None, reason="disabled" if user and user.disabled and ok else "bad credentials")
        await session.commit()
        raise Unauthorized("wrong email or password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.last_failed_at, user.locked_until, user.last_login_at = 0, None, None, t
    tenant = await session.get(Tenant, user.tenant_id)
    issued = await _issue(session, signer, cfg, user, tenant)
    audit.record(session, "auth.sign_in", origin, name=user.email, user_id=user.id, tenant_id=user.tenant_id)
    await session.commit()
    return issued


def _parse(token: str) -> tuple[str, str]:
    token_id, _, secret = token.partition(".")
    if not token_id or not secret:
        raise Unauthorized("malformed refresh token")
    return token_id, secret


BROWSER_GRACE = timedelta(seconds=10)  # a cookie reuse this soon is a race of one browser's tabs, not a stolen copy


async def refresh(session: AsyncSession, signer: tokens.Signer, cfg: AuthSettings, token: str, origin: audit.Origin,
                  grace: timedelta = timedelta(0)) -> Issued:
    """Swap a refresh token for a new pair. A token used before means a copy exists elsewhere:
    the whole family is revoked, signing both holders out — unless it was used less than `grace`
    ago (browsers: tabs sharing one cookie refresh at once), which is refused without revoking."""
    t = datetime.now(UTC)
    token_id, secret = _parse(token)
    row = await session.get(RefreshToken, token_id, with_for_update=True)
    if row is None or not hmac.compare_digest(row.token_hash, tokens.digest(secret)):
        raise Unauthorized("unknown refresh token")
    user = await session.get(User, row.user_id)
    if row.used_at is not None or row.revoked_at is not None:
        if row.used_at is not None and t - aware(row.used_at) < grace:
            # Two tabs of one browser refreshing at once: the other one won and its new cookies
            # are on their way. Refuse without revoking (the loser retries with those cookies).
            raise Unauthorized("refresh token just used by another request; retry with the new cookies")
        if row.used_at is not None:  # replayed: someone else holds a copy
            await _revoke_family(session, row.family, t)
            audit.record(session, "auth.refresh_reused", origin, name=user.email, user_id=user.id, tenant_id=user.tenant_id,
                         family=row.family)
            await session.commit()
        raise Unauthorized("refresh token already used or revoked; sign in again")
    if aware(row.expires_at) <= t:
        raise Unauthorized("refresh token expired; sign in again")
    if user.disabled:
        raise Unauthorized("account disabled")
    row.used_at = t
    issued = await _issue(session, signer, cfg, user, await session.get(Tenant, user.tenant_id), family=row.family)
    await session.commit()
    return issued


async def _revoke_family(session: AsyncSession, family: str, t: datetime) -> None:
    await session.execute(update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
                          .values(revoked_at=t))


async def sign_out(session: AsyncSession, token: str, origin: audit.Origin) -> None:
    """Revoke the refresh token's family (this sign-in, on every device it was refreshed to)."""
    token_id, secret = _parse(token)
    row = await session.get(RefreshToken, token_id)
    if row is None or not hmac.compare_digest(row.token_hash, tokens.digest(secret)):
        raise Unauthorized("unknown refresh token")
    await _revoke_family(session, row.family, datetime.now(UTC))
    user = await session.get(User, row.user_id)
    audit.record(session, "auth.sign_out", origin, name=user.email, user_id=user.id, tenant_id=user.tenant_id)
    await session.commit()
