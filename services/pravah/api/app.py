"""The FastAPI application; the caller provides the session factory, the store (for presigned
downloads), the tenants and the readiness checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import metrics
from pravah.api.deps import SessionDep
from pravah.api.routes import jobs, registry
from pravah.settings import Tenant

Check = Callable[[], Awaitable[bool]]


def create_app(
    sessions: async_sessionmaker,
    *,
    store: object | None = None,
    tenants: list[Tenant] | None = None,
    checks: dict[str, Check] | None = None,
) -> FastAPI:
    app = FastAPI(title="Pravah", version="0.1.0", summary="What happened to my file?")
    app.state.sessions = sessions
    app.state.store = store
    app.state.tenants = tenants or []
    app.include_router(jobs.router)
    app.include_router(registry.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(session: SessionDep) -> JSONResponse:
        """The database and (when configured) Kafka are reachable."""
        results: dict[str, bool] = {}
        try:
            await session.execute(text("SELECT 1"))
            results["database"] = True
        except Exception:
            results["database"] = False
        for name, check in (checks or {}).items():
            try:
                results[name] = await check()
            except Exception:
                results[name] = False
        ok = all(results.values())
        return JSONResponse({"ready": ok, **results}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"])
    async def prometheus(session: SessionDep) -> Response:
        body, content_type = await metrics.render(session)
        return Response(body, media_type=content_type)

    return app
