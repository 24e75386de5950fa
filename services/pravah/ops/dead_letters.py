"""Dead letters as the operations page sees them: ingest records each payload it sends to the
dead-letter topic (the topic stays the source of truth; a replayed batch may record one twice)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.ops.models import DeadLetterRow

log = logging.getLogger("pravah.ingest")
HEAD_BYTES = 300
KEEP = timedelta(days=30)


async def record(sessions: async_sessionmaker, letters: list[tuple[str, str, bytes]]) -> None:
    """(origin, reason, payload) of each; a failure is logged, not raised: the topic has them."""
    if not letters:
        return
    t = datetime.now(UTC)
    try:
        async with sessions() as s:
            for origin, reason, raw in letters:
                s.add(DeadLetterRow(at=t, origin=origin[:300], reason=reason[:2000], size=len(raw),
                                    head=raw[:HEAD_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")))
            await s.execute(delete(DeadLetterRow).where(DeadLetterRow.at < t - KEEP))
            await s.commit()
    except Exception:
        log.warning("could not record %d dead letter(s) for the operations page", len(letters), exc_info=True)

