"""Upload page: drop files, pick a destination inside the caller's scopes, see which
pipeline will start, and send the bytes straight to the store in parallel parts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pravah.uploads import sessions as uploads
from pravah.uploads.models import UploadStatus
from pravah.web.identity import Viewer
from pravah.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/ui/upload", response_class=HTMLResponse)
async def upload_page(request: Request, me: Viewer, to: str | None = None) -> HTMLResponse:
    """Any signed-in caller (starting an upload needs the write right, checked by the API)."""
    ctx = request.app.state.ctx
    async with ctx.sessions() as s:
        unfinished = await uploads.listed(s, me, UploadStatus.OPEN, limit=50)
    destinations = [me.inbox] + [sc if sc.endswith("/") or "/" not in sc else sc + "/" for sc in me.scopes if sc != me.inbox]
    return page(request, "upload.html", destinations=destinations, to=to or me.inbox, unfinished=unfinished,
                can_write="write" in me.permissions, max_bytes=int(ctx.settings.uploads.max_bytes))
