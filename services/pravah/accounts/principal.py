"""Who is calling: the one shape every credential (access token, API key, cookie, open mode)
resolves to, and the scope checks every route uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

READ, WRITE, ADMIN, METRICS = "read", "write", "admin", "metrics"
PERMISSIONS = (READ, WRITE, ADMIN, METRICS)
ROLE_PERMISSIONS = {"user": frozenset({READ, WRITE}), "admin": frozenset(PERMISSIONS)}


def split_scope(scope: str) -> tuple[str, str]:
    """ "bucket" or "bucket/prefix" → (bucket, prefix)."""
    bucket, _, prefix = scope.partition("/")
    return bucket, prefix


def covers(scopes: tuple[str, ...] | list[str], bucket: str, key: str) -> bool:
    """Does one of `scopes` hold the object bucket/key? A bare bucket covers all of it."""
    for scope in scopes:
        b, prefix = split_scope(scope)
        if b == bucket and key.startswith(prefix):
            return True
    return False


def covers_prefix(scopes: tuple[str, ...] | list[str], bucket: str, prefix: str) -> bool:
    """Does one of `scopes` hold everything under bucket/prefix?"""
    return covers(scopes, bucket, prefix)


def scope_condition(scopes: tuple[str, ...] | list[str], bucket_col: Any, key_col: Any) -> ColumnElement[bool]:
    """The same test as `covers`, as SQL over a bucket and a key column."""
    conds = []
    for scope in scopes:
        b, prefix = split_scope(scope)
        conds.append(and_(bucket_col == b, key_col.startswith(prefix, autoescape=True)) if prefix else bucket_col == b)
    return or_(*conds) if conds else false()


@dataclass(frozen=True)
class Principal:
    kind: str  # "user", "key" or "local" (open mode)
    id: str
    name: str  # an email, a key prefix, or "local"
    tenant_id: str | None
    tenant: str
    role: str
    scopes: tuple[str, ...]  # bucket/prefix the caller may see (admins see everything)
    inbox: str  # bucket/prefix uploads go to by default
    permissions: frozenset[str] = field(default_factory=frozenset)
    user_id: str | None = None  # the signed-in user, or the user who owns the key

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and ADMIN in self.permissions

    def sees(self, bucket: str, key: str) -> bool:
        return self.is_admin or covers(self.scopes, bucket, key)

    def visible(self, bucket_col: Any, key_col: Any) -> ColumnElement[bool]:
        """SQL: the rows this caller may see."""
        return true() if self.is_admin else scope_condition(self.scopes, bucket_col, key_col)


LOCAL = Principal(kind="local", id="local", name="local", tenant_id=None, tenant="local", role="admin", scopes=(),
                  inbox="inbox/uploads/", permissions=frozenset(PERMISSIONS))
