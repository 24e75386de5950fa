"""Dependencies as Annotated aliases, so a route's signature says who may call it:
`Reader`, `Writer`, `Admin`, `MetricsReader`, or `Caller` (any identity). Credentials: an
`Authorization: Bearer` access token or API key, or the `pravah_access` cookie — with the
`X-CSRF-Token` header matching the `pravah_csrf` cookie on unsafe methods. In open mode
(embedded, loopback, no accounts) every caller is the local admin."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from pravah.accounts.audit import Origin
from pravah.accounts.principal import ADMIN, LOCAL, METRICS, READ, WRITE, Principal
from pravah.errors import Forbidden, Invalid, Unauthorized

ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE, CSRF_HEADER = "pravah_access", "pravah_refresh", "pravah_csrf", "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.ctx.sessions() as s:
        yield s


def _origin(request: Request) -> Origin:
    return Origin(request.client.host if request.client else None, request.headers.get("user-agent"))


async def identify(request: Request) -> Principal:
    """The caller, or Unauthorized."""
    ctx = request.app.state.ctx
    if ctx.open:
        _loopback_only(request)
        return LOCAL
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        p = await (ctx.auth.from_access_token(token) if token.count(".") == 2 else ctx.auth.from_api_key(token))
    elif (cookie := request.cookies.get(ACCESS_COOKIE)) is not None:
        if request.method not in SAFE:
            sent, expected = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
            if not expected or not hmac.compare_digest(sent, expected):
                raise Forbidden(f"missing or wrong {CSRF_HEADER} header (it must repeat the {CSRF_COOKIE} cookie)")
        p = await ctx.auth.from_access_token(cookie)
    else:
        raise Unauthorized("sign in, or send an access token or API key as `Authorization: Bearer …`")
    request.state.principal = p
    return p


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _loopback_only(request: Request) -> None:
    """Open mode trusts whoever can reach the loopback port, so it refuses what a web page
    elsewhere could make a browser send: a foreign Host (DNS rebinding) or a cross-origin write."""
    host = request.url.hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise Forbidden(f"open mode answers only requests addressed to the loopback host, not {host!r}")
    origin = request.headers.get("origin")
    if request.method not in SAFE and origin is not None:
        if origin.split("://", 1)[-1] != request.headers.get("host", ""):
            raise Forbidden(f"cross-origin write from {origin} refused in open mode")


# Declared so that OpenAPI lists, on every operation, the credentials it takes (identify()
# reads them itself: one order of precedence, one CSRF rule).
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="An access token (JWT) or an API key (pvh_…).")
_cookie = APIKeyCookie(name=ACCESS_COOKIE, auto_error=False, scheme_name="session",
                       description="Browser session; writes also need the X-CSRF-Token header.")


def require(permission: str | None) -> Callable[..., Awaitable[Principal]]:
    async def dep(request: Request, _b: Annotated[object, Depends(_bearer)], _c: Annotated[object, Depends(_cookie)]) -> Principal:
        p = await identify(request)
        if permission is not None and permission not in p.permissions:
            raise Forbidden(f"this needs the {permission!r} right; {p.name} has {', '.join(sorted(p.permissions)) or 'none'}")
        if permission == ADMIN and not p.is_admin:
            raise Forbidden("administrators only")
        return p

    dep.__name__ = f"require_{permission or 'identity'}"
    return dep


def _last_event_id(
    last_event_id: Annotated[str | None, Header(description="Resume after this event id (browsers send it on reconnect).")] = None,
) -> int | None:
    if not last_event_id:
        return None
    if not last_event_id.isdigit() or len(last_event_id) > 18:
        raise Invalid(f"Last-Event-ID {last_event_id[:40]!r} is not an event id")
    return int(last_event_id)


SessionDep = Annotated[AsyncSession, Depends(_session)]
OriginDep = Annotated[Origin, Depends(_origin)]
Caller = Annotated[Principal, Depends(require(None))]
Reader = Annotated[Principal, Depends(require(READ))]
Writer = Annotated[Principal, Depends(require(WRITE))]
Admin = Annotated[Principal, Depends(require(ADMIN))]
MetricsReader = Annotated[Principal, Depends(require(METRICS))]
LastEventId = Annotated[int | None, Depends(_last_event_id)]
