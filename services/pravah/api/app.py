"""The FastAPI application. Every route states who may call it through its dependencies
(api/deps.py); domain errors become HTTP answers here, once."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from pravah import web
from pravah.api.context import ApiContext
from pravah.api.openapi import document_errors
from pravah.api.query import single_values
from pravah.api.routes import accounts, auth, backfills, dryrun, events, jobs, ops, registry, store, uploads
from pravah.errors import DomainError, Throttled, Unauthorized
from pravah.storage import LocalStore, StoreError

VERSION = "0.2.0"


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if request.url.path.startswith("/ui/") and request.method == "GET":  # a page; the pages' own calls get JSON
        return web.error_page(request, exc)
    headers = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)


async def _store_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"object store: {exc}"}, status_code=502)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refuses text with NUL characters; that is the caller's input, not our fault.
    Anything else is re-raised as the server error it is."""
    if "0x00" in str(exc):
        return JSONResponse({"detail": "text values must not contain NUL (\\u0000) characters"}, status_code=422)
    raise exc


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(title="Pravah", version=VERSION, summary="What happened to my file?", dependencies=[Depends(single_values)])
    app.state.ctx = ctx
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(DBAPIError, _database_error)
    if ctx.settings.api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=ctx.settings.api.cors_origins, allow_credentials=True,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "Last-Event-ID"])
    for r in (ops, auth, accounts, jobs, events, uploads, registry, dryrun, backfills):
        app.include_router(r.router)
    if isinstance(ctx.store, LocalStore):
        app.include_router(store.router)
    web.mount(app)
    document_errors(app)
    return app


def metrics_app(ctx: ApiContext) -> FastAPI:
    """/metrics alone, without credentials, for a scraper on a port only the cluster reaches."""
    app = FastAPI(title="Pravah metrics", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.add_api_route("/metrics", ops.render, methods=["GET"])
    return app
