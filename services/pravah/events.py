"""ObjectEvent: the one normalized shape every event source produces (local watcher, Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ObjectEvent:
    bucket: str
    key: str
    size: int
    etag: str
    event_time: datetime
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def object_version(self) -> str:
        """What identifies this content of the object: the version id, else the etag."""
        return self.version_id or self.etag
