"""/v1/auth: sign in, refresh, sign out (public: the credentials are in the body or the
session cookies), and /v1/me (any identity)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StrictBool

from pravah.accounts import sessions
from pravah.accounts.principal import Principal
from pravah.accounts.users import principal_for
from pravah.api.openapi import error
from pravah.api import cookies
from pravah.api.deps import REFRESH_COOKIE, Caller, OriginDep, SessionDep
from pravah.errors import Conflict, Unauthorized

router = APIRouter(prefix="/v1", tags=["auth"])


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    cookie: StrictBool = Field(False, description="Set HttpOnly session cookies (browsers) instead of returning the tokens.")


class RefreshBody(BaseModel):
    refresh_token: str | None = Field(None, max_length=256, description="Omit to use the pravah_refresh cookie.")


class Me(BaseModel):
    kind: str
    id: str
    name: str
    tenant: str
    role: str
    scopes: list[str]
    inbox: str
    permissions: list[str]


class Tokens(BaseModel):
    token_type: str = "bearer"
    access_token: str | None = Field(None, description="Absent when cookies were asked for.")
    refresh_token: str | None = None
    expires_at: datetime
    refresh_expires_at: datetime
    csrf_token: str | None = Field(None, description="With cookies: send it back as X-CSRF-Token on unsafe methods.")
    me: Me


def me_of(p: Principal) -> Me:
    return Me(kind=p.kind, id=p.id, name=p.name, tenant=p.tenant, role=p.role, scopes=list(p.scopes), inbox=p.inbox,
              permissions=sorted(p.permissions))


def _no_accounts(request: Request) -> None:
    if request.app.state.ctx.open:
        raise Conflict("this API runs without accounts (open mode on loopback): no sign-in needed")


def _respond(request: Request, response: Response, issued: sessions.Issued, cookie: bool) -> Tokens:
    ctx = request.app.state.ctx
    me = me_of(principal_for(issued.user, issued.tenant))
    if not cookie:
        return Tokens(access_token=issued.access_token, refresh_token=issued.refresh_token, expires_at=issued.access_expires_at,
                      refresh_expires_at=issued.refresh_expires_at, me=me)
    csrf = cookies.set_session(response, ctx.settings.auth, issued)
    return Tokens(expires_at=issued.access_expires_at, refresh_expires_at=issued.refresh_expires_at, csrf_token=csrf, me=me)


@router.post("/auth/sign-in", response_model=Tokens, responses={401: error("Wrong email or password, or the account is locked."),
                                                                429: error("Too many failed sign-ins: wait Retry-After seconds.")})
async def sign_in(body: SignIn, request: Request, response: Response, session: SessionDep, origin: OriginDep) -> Tokens:
    """Public. Wrong credentials → 401; repeated failures → 429 with Retry-After, then a lock."""
    _no_accounts(request)
    ctx = request.app.state.ctx
    issued = await sessions.sign_in(session, ctx.signer, ctx.settings.auth, body.email, body.password, origin)
    return _respond(request, response, issued, body.cookie)


@router.post("/auth/refresh", response_model=Tokens, responses={401: error("No refresh token, or a used, expired or revoked one.")})
async def refresh(request: Request, response: Response, session: SessionDep, origin: OriginDep, body: RefreshBody | None = None) -> Tokens:
    """Public (the refresh token is the credential). Each token works once; a reused one
    revokes its whole family."""
    _no_accounts(request)
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("no refresh token (body or pravah_refresh cookie)")
    ctx = request.app.state.ctx
    from_cookie = not (body and body.refresh_token)
    issued = await sessions.refresh(session, ctx.signer, ctx.settings.auth, token, origin,
                                    grace=sessions.BROWSER_GRACE if from_cookie else timedelta(0))
    return _respond(request, response, issued, cookie=from_cookie)


@router.post("/auth/sign-out", status_code=204, responses={401: error("No refresh token, or a bad one.")})
async def sign_out(request: Request, response: Response, session: SessionDep, origin: OriginDep, body: RefreshBody | None = None) -> Response:
    """Public (the refresh token is the credential): revokes that sign-in and clears cookies."""
    _no_accounts(request)
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("no refresh token (body or pravah_refresh cookie)")
    await sessions.sign_out(session, token, origin)
    out = Response(status_code=204)
    cookies.clear_session(out)
    return out


@router.get("/me", response_model=Me)
async def me(caller: Caller) -> Me:
    """Any identity: who the credentials belong to, and what they may do."""
    return me_of(caller)
