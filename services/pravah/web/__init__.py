"""The dashboard: server-rendered pages (Jinja2) on the same FastAPI app as the API, with a
few small ES modules for what must happen in the browser (the live stream, the uploader,
relative times). Pages are right when rendered; the stream only updates them. No build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from pravah.errors import DomainError, Unauthorized
from pravah.web import jobs, operations, pipelines, session, upload
from pravah.web.identity import SignInNeeded, sign_in_url
from pravah.web.render import page

STATIC = Path(__file__).parent / "static"


def error_page(request: Request, exc: DomainError) -> Response:
    """A domain error on a page: the same status, as a page (sign-in needed: off to sign in)."""
    if isinstance(exc, Unauthorized):
        return RedirectResponse(sign_in_url(request.url.path), status_code=303)
    return page(request, "error.html", status_code=exc.status, message=str(exc), code=exc.status)


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    """A page: off to sign in and back. A page's own call (POST): 401, as the API answers."""
    assert isinstance(exc, SignInNeeded)
    if request.method != "GET":
        return JSONResponse({"detail": "sign in first"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse(sign_in_url(exc.next_url), status_code=303)


def mount(app: FastAPI) -> None:
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    for r in (session, jobs, upload, pipelines, operations):
        app.include_router(r.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/", lambda: RedirectResponse("/ui/jobs", status_code=302), include_in_schema=False)
