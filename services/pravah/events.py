"""ObjectEvent: the one normalized shape every event source produces (local watcher, Kafka)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes


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


class EventFormatError(ValueError):
    """A message that is not an object event we understand; the reason names the field."""


@dataclass(frozen=True)
class Parsed:
    """What one message held: created-object events, and how many records were skipped
    (removals, test events, other event kinds)."""

    events: list[ObjectEvent]
    skipped: int = 0


def parse_message(raw: bytes) -> Parsed:
    """MinIO and AWS S3 notification records (several per message) and EventBridge
    "Object Created" events, into ObjectEvents. Notification keys arrive URL-encoded
    (`+` for a space); EventBridge keys arrive as they are."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EventFormatError(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise EventFormatError(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("Event") == "s3:TestEvent":
        return Parsed([], skipped=1)
    if "detail-type" in doc:
        return _eventbridge(doc)
    records = doc.get("Records")
    if not isinstance(records, list):
        raise EventFormatError("no Records list and no EventBridge detail-type")
    events, skipped = [], 0
    for i, rec in enumerate(records):
        where = f"Records[{i}]"
        if not isinstance(rec, dict):
            raise EventFormatError(f"{where}: expected an object")
        name = _field(rec, "eventName", str, where)
        if not name.removeprefix("s3:").startswith("ObjectCreated:"):
            skipped += 1
            continue
        s3 = _field(rec, "s3", dict, where)
        bucket = _field(_field(s3, "bucket", dict, f"{where}.s3"), "name", str, f"{where}.s3.bucket")
        obj = _field(s3, "object", dict, f"{where}.s3")
        at = f"{where}.s3.object"
        events.append(ObjectEvent(
            bucket=bucket,
            key=_key(_field(obj, "key", str, at), f"{at}.key"),
            size=_size(obj, at),
            etag=str(obj.get("eTag") or obj.get("etag") or ""),
            event_time=_time(rec.get("eventTime"), f"{where}.eventTime"),
            version_id=obj.get("versionId") or None,
            sequencer=obj.get("sequencer"),
        ))
    return Parsed(events, skipped)


def _eventbridge(doc: dict) -> Parsed:
    if doc["detail-type"] != "Object Created":
        return Parsed([], skipped=1)
    detail = _field(doc, "detail", dict, "")
    obj = _field(detail, "object", dict, "detail")
    return Parsed([ObjectEvent(
        bucket=_field(_field(detail, "bucket", dict, "detail"), "name", str, "detail.bucket"),
        key=_field(obj, "key", str, "detail.object"),
        size=_size(obj, "detail.object"),
        etag=str(obj.get("etag") or ""),
        event_time=_time(doc.get("time"), "time"),
        version_id=obj.get("version-id") or None,
        sequencer=obj.get("sequencer"),
    )])


def _field(d: dict, name: str, kind: type, where: str) -> Any:
    path = f"{where}.{name}" if where else name
    if name not in d:
        raise EventFormatError(f"{path}: missing")
    v = d[name]
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise EventFormatError(f"{path}: expected {kind.__name__}, got {type(v).__name__}")
    if kind is str and not v:
        raise EventFormatError(f"{path}: empty")
    return v


def _size(obj: dict, where: str) -> int:
    # MinIO leaves "size" out of the record of a zero-byte object (Go's omitempty).
    return _field(obj, "size", int, where) if "size" in obj else 0


def _time(v: object, where: str) -> datetime:
    if v is None:
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise EventFormatError(f"{where}: not an ISO time: {v!r}") from None


_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _key(raw: str, where: str) -> str:
    """S3 notification keys are URL-encoded (`+` for a space). A broken escape or bytes that are
    not UTF-8 make the record unreadable: an error naming the place, never a guessed key."""
    if (m := _BROKEN_ESCAPE.search(raw)) is not None:
        raise EventFormatError(f"{where}: broken percent-escape at character {m.start()} of {raw[:200]!r}")
    try:
        return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError as e:
        raise EventFormatError(f"{where}: the decoded key is not UTF-8 (byte {e.start}) in {raw[:200]!r}") from None
