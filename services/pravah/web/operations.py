"""Operations (administrators): the platform's numbers with server-rendered charts, workers
and their heartbeats, open uploads, users and API keys."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from pravah.accounts import keys, users
from pravah.ops import stats
from pravah.uploads.models import Upload, UploadStatus
from pravah.web.identity import AdminViewer
from pravah.web.render import page

router = APIRouter(include_in_schema=False)
CHART_W, CHART_H = 480, 120


def chart(bars: list[stats.Bar], label: str) -> dict:
    """Stacked bars (succeeded below, failed above) as SVG geometry, with a text table twin."""
    top = max((b.succeeded + b.failed for b in bars), default=0) or 1
    w = CHART_W / max(1, len(bars))
    rects = []
    for i, b in enumerate(bars):
        ok_h = CHART_H * b.succeeded / top
        bad_h = CHART_H * b.failed / top
        rects.append({"x": round(i * w + 1, 1), "w": round(max(1.0, w - 2), 1), "ok_y": round(CHART_H - ok_h, 1), "ok_h": round(ok_h, 1),
                      "bad_y": round(CHART_H - ok_h - bad_h, 1), "bad_h": round(bad_h, 1), "bar": b})
    return {"label": label, "rects": rects, "top": top, "w": CHART_W, "h": CHART_H}


@router.get("/ui/operations", response_class=HTMLResponse)
async def operations_page(request: Request, me: AdminViewer) -> HTMLResponse:
    """Administrators only (others: 403)."""
    ctx = request.app.state.ctx
    async with ctx.sessions() as s:
        summary = await stats.summary(s)
        open_uploads = (await s.execute(select(Upload).where(Upload.status == UploadStatus.OPEN)
                                        .order_by(Upload.expires_at).limit(50))).scalars().all()
        people = await users.users(s)
        api_keys = await keys.listed(s, me)
    return page(request, "operations.html", s=summary, charts=[chart(summary.hourly, "last 24 hours, per hour"),
                                                             chart(summary.daily, "last 7 days, per day")],
                open_uploads=open_uploads, people=people, api_keys=api_keys)
