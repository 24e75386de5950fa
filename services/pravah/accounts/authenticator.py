"""Credentials → Principal for every request: access tokens (JWT) and API keys. What the
database says about a user or key is cached for a few seconds per process, so a request
costs no query while a disabled user, a role change or a revoked key still takes effect
within `ttl` seconds everywhere (at once in the process that made the change)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.accounts import keys, tokens, users
from pravah.accounts.models import ApiKey, Tenant, User
from pravah.accounts.principal import Principal
from pravah.clock import aware, now
from pravah.errors import Unauthorized

LAST_USED_EVERY = timedelta(seconds=60)


class Authenticator:
    def __init__(self, sessions: async_sessionmaker, signer: tokens.Signer, ttl: float = 5.0):
        self.sessions, self.signer, self.ttl = sessions, signer, ttl
        self._users: dict[str, tuple[float, Principal | None]] = {}
        self._verified: dict[str, tokens.Claims] = {}
        self._keys: dict[str, tuple[float, Principal | None, datetime | None]] = {}

    async def from_access_token(self, token: str) -> Principal:
        claims = self._verified.get(token)
        if claims is None or claims.expires_at <= now():
            try:
                claims = self.signer.verify(token)
            except tokens.InvalidToken as e:
                raise Unauthorized(str(e)) from None
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = claims  # a token never changes: its signature need not be checked twice
        hit = self._users.get(claims.user_id)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            async with self.sessions() as s:
                user = await s.get(User, claims.user_id)
                tenant = await s.get(Tenant, user.tenant_id) if user else None
            p = users.principal_for(user, tenant) if user and tenant and not user.disabled else None
            hit = self._users[claims.user_id] = (time.monotonic(), p)
        if hit[1] is None:
            raise Unauthorized("this account no longer exists or is disabled")
        return hit[1]

    async def from_api_key(self, secret: str) -> Principal:
        digest = tokens.digest(secret)
        hit = self._keys.get(digest)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            async with self.sessions() as s:
                found = await keys.resolve(s, secret)
                p, expires = None, None
                if found is not None:
                    key, tenant = found
                    owner = await s.get(User, key.user_id) if key.user_id else None
                    if owner is None or not owner.disabled:
                        p, expires = keys.principal_for(key, tenant), aware(key.expires_at)
                    t = now()
                    if key.last_used_at is None or aware(key.last_used_at) < t - LAST_USED_EVERY:
                        await s.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=t))
                        await s.commit()
            if len(self._keys) > 10_000:
                self._keys.clear()  # unknown secrets must not grow the cache without bound
            hit = self._keys[digest] = (time.monotonic(), p, expires)
        if hit[1] is None or (hit[2] is not None and hit[2] <= now()):
            raise Unauthorized("unknown, expired or revoked API key")
        return hit[1]

    def forget(self) -> None:
        """Drop cached answers (after a change to users or keys in this process)."""
        self._users.clear()
        self._keys.clear()
