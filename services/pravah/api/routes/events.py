"""/v1/events: one stream of every job event the caller may see (status, progress, log),
resumable with Last-Event-ID. Pages use this one stream, never one poll per row."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from pravah.api.deps import LastEventId, Reader
from pravah.live import stream

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request, caller: Reader,
    last_event_id: LastEventId,
):
    """Read right. A `ready` event with the current id first; after a reconnect, every event
    missed (up to 1,000; past that a `resync` event asks the client to reload)."""
    ctx = request.app.state.ctx
    async for it in stream.all_stream(ctx.sessions, ctx.hub, caller, last_event_id):
        if await request.is_disconnected():
            return
        yield ServerSentEvent(data=it.data, event=it.event, id=str(it.id) if it.id is not None else None)
