"""Who is looking at a page. The browser session's access token lives 15 minutes; a page
request with an expired one renews it from the refresh cookie on the way (the response
carries the new cookies), and with none at all goes to the sign-in page and back."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from pravah.accounts import sessions
from pravah.accounts.principal import Principal
from pravah.accounts.users import principal_for
from pravah.api.deps import REFRESH_COOKIE, _origin, identify
from pravah.errors import Forbidden, Unauthorized


class SignInNeeded(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


def sign_in_url(next_url: str) -> str:
    return "/ui/sign-in?next=" + quote(next_url, safe="")


async def viewer(request: Request) -> Principal:
    try:
        p = await identify(request)
        request.state.principal = p
        return p
    except Unauthorized:
        pass
    ctx = request.app.state.ctx
    token = request.cookies.get(REFRESH_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise SignInNeeded(target)
    try:
        async with ctx.sessions() as s:
            issued = await sessions.refresh(s, ctx.signer, ctx.settings.auth, token, _origin(request), grace=sessions.BROWSER_GRACE)
    except Unauthorized:
        raise SignInNeeded(target) from None
    p = principal_for(issued.user, issued.tenant)
    request.state.principal, request.state.reissued = p, issued
    return p


async def admin_viewer(request: Request) -> Principal:
    p = await viewer(request)
    if not p.is_admin:
        raise Forbidden("this page is for administrators")
    return p


Viewer = Annotated[Principal, Depends(viewer)]
AdminViewer = Annotated[Principal, Depends(admin_viewer)]
