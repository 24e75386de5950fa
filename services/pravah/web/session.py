"""Sign-in page (public). Signing in and out go through /v1/auth with cookies; the page only
sends the form there and follows `next`, which must stay on this site."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pravah.api.deps import identify
from pravah.errors import DomainError
from pravah.web.render import page

router = APIRouter(include_in_schema=False)


def local_path(next_url: str | None) -> str:
    """Only a path on this site: no scheme, no host, no `//` (an open redirect otherwise)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return "/ui/jobs"
    return next_url


@router.get("/ui/sign-in")
async def sign_in(request: Request, next: str | None = None) -> Response:
    """Public."""
    target = local_path(next)
    try:
        request.state.principal = await identify(request)
        if not request.app.state.ctx.open:
            return RedirectResponse(target, status_code=303)  # signed in already (another tab, a fresh cookie)
    except DomainError:
        pass
    return page(request, "sign_in.html", next=target)
