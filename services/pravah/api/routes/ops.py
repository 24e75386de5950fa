"""/healthz and /readyz (public: probes carry no credentials) and /metrics (the `metrics`
right: administrators or a key with that scope; or unauthenticated on PRAVAH_API__METRICS_PORT).
A process without the API serves the same probes and its own /metrics, unauthenticated, on
PRAVAH_OPS__PORT (api/probes.py)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from pravah import metrics
from pravah.api import probes
from pravah.api.deps import Admin, MetricsReader, SessionDep
from pravah.ops import stats

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Public. The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database or Kafka is not reachable (each named true/false)."}})
async def readyz(request: Request, session: SessionDep) -> JSONResponse:
    """Public. The database and (when configured) Kafka are reachable; 503 when one is not."""
    body = await probes.readiness(session, request.app.state.ctx.checks)
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


async def render(session: SessionDep) -> Response:
    body, content_type = await metrics.render(session)
    return Response(body, media_type=content_type)


@router.get("/metrics", response_class=Response,
            responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def prometheus(_: MetricsReader, session: SessionDep) -> Response:
    """The `metrics` right. Prometheus text format."""
    return await render(session)


@router.get("/v1/ops/summary")
async def summary(_: Admin, session: SessionDep, windows: bool = True) -> dict:
    """Administrators. The numbers of the operations page: jobs by status, queue, per-window
    throughput, error rate and durations (`windows=false`: without them, for a quick refresh),
    workers, open uploads, dead letters."""
    return asdict(await stats.summary(session, charts=False, windows=windows))
