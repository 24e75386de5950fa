"""The FastAPI application; the caller provides the session factory."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.api.routes import jobs


def create_app(sessions: async_sessionmaker) -> FastAPI:
    app = FastAPI(title="Pravah", version="0.1.0", summary="What happened to my file?")
    app.state.sessions = sessions
    app.include_router(jobs.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
