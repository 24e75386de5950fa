"""Access tokens (JWT, HS256) signed with the current key and verified with it or any previous
key still configured, so the key can rotate without signing everybody out; and the opaque
secrets (refresh tokens, API keys) stored only as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ISSUER = "pravah"


def kid(key: bytes) -> str:
    """A public name for a signing key, so a verifier picks the right one."""
    return hashlib.sha256(b"pravah-kid:" + key).hexdigest()[:12]


class InvalidToken(Exception):
    """Expired, tampered, signed by an unknown key, or not an access token."""


@dataclass(frozen=True)
class Claims:
    user_id: str
    tenant_id: str
    role: str
    email: str
    expires_at: datetime


class Signer:
    def __init__(self, key: bytes, previous: list[bytes] | None = None, ttl_seconds: int = 900):
        if len(key) < 32:
            raise ValueError("the signing key must have at least 32 bytes")
        self.key, self.ttl = key, timedelta(seconds=ttl_seconds)
        self._keys = {kid(k): k for k in [key, *(previous or [])]}

    def issue(self, user_id: str, tenant_id: str, role: str, email: str, now: datetime | None = None) -> tuple[str, datetime]:
        now = now or datetime.now(UTC)
        exp = now + self.ttl
        claims = {"sub": user_id, "tid": tenant_id, "role": role, "email": email, "iss": ISSUER, "typ": "access",
                  "iat": int(now.timestamp()), "exp": int(exp.timestamp())}
        return jwt.encode(claims, self.key, algorithm="HS256", headers={"kid": kid(self.key)}), exp

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", ""))
            if key is None:
                raise InvalidToken("signed by an unknown key")
            c = jwt.decode(token, key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired") from None
        except jwt.PyJWTError as e:
            raise InvalidToken(f"invalid access token ({e})") from None
        if c.get("typ") != "access":
            raise InvalidToken("not an access token")
        return Claims(c["sub"], c["tid"], c["role"], c.get("email", ""), datetime.fromtimestamp(c["exp"], UTC))

    def sign(self, message: str) -> str:
        """An HMAC of `message` (the local store's signed URLs)."""
        return hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()

    def check(self, message: str, signature: str) -> bool:
        return any(hmac.compare_digest(hmac.new(k, message.encode(), hashlib.sha256).hexdigest(), signature)
                   for k in self._keys.values())


def digest(secret: str) -> str:
    """Refresh tokens and API keys carry 256 random bits: a plain SHA-256 cannot be reversed
    (a password hash would only slow every request down)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)
