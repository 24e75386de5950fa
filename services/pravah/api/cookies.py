"""The browser session as cookies: HttpOnly access and refresh tokens, and a readable CSRF
token that pages send back as X-CSRF-Token on unsafe methods. Set by sign-in and refresh,
both through the API and when a page refreshes an expired access token on its own."""

from __future__ import annotations

import secrets

from fastapi import Response

from pravah.accounts.sessions import Issued
from pravah.api.deps import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE
from pravah.settings import AuthSettings


def set_session(response: Response, cfg: AuthSettings, issued: Issued) -> str:
    """Set the three cookies; the CSRF token is returned for the body too."""
    csrf = secrets.token_urlsafe(24)
    response.set_cookie(ACCESS_COOKIE, issued.access_token, max_age=cfg.access_ttl_seconds, httponly=True, samesite="lax",
                        secure=cfg.cookie_secure)
    response.set_cookie(REFRESH_COOKIE, issued.refresh_token, max_age=cfg.refresh_ttl_seconds, httponly=True, samesite="strict",
                        secure=cfg.cookie_secure)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=cfg.refresh_ttl_seconds, samesite="strict", secure=cfg.cookie_secure)
    return csrf


def clear_session(response: Response) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name)
