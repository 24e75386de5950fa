"""Embedded mode's event source: scan the local buckets, and turn each file that has stopped
changing into the same ObjectEvent the Kafka path carries."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pravah.events import ObjectEvent
from pravah.storage.local import local_etag


class Watcher:
    def __init__(self, folder: Callable[[str], Path], buckets: set[str], settle_seconds: float):
        """`folder(bucket)` is where a bucket's files are (the store's bucket_path)."""
        self.folder, self.buckets, self.settle = folder, buckets, settle_seconds
        # key → (size, mtime_ns, first seen with that size/mtime at)
        self._pending: dict[tuple[str, str], tuple[int, int, float]] = {}
        self._emitted: set[tuple[str, str, int, int]] = set()

    def scan(self) -> list[ObjectEvent]:
        """One pass: events for files unchanged for `settle` seconds and not yet reported."""
        t = time.monotonic()
        events = []
        seen: set[tuple[str, str]] = set()
        for bucket in sorted(self.buckets):
            base = self.folder(bucket)
            for path, st in _walk(base):
                key = path.relative_to(base).as_posix()
                ident = (bucket, key)
                seen.add(ident)
                stamp = (st.st_size, st.st_mtime_ns)
                if (bucket, key, *stamp) in self._emitted:
                    continue
                prev = self._pending.get(ident)
                if prev is None or prev[:2] != stamp:
                    self._pending[ident] = (*stamp, t)
                    if self.settle > 0:
                        continue
                elif t - prev[2] < self.settle:
                    continue
                self._pending.pop(ident, None)
                self._emitted.add((bucket, key, *stamp))
                events.append(
                    ObjectEvent(
                        bucket=bucket,
                        key=key,
                        size=st.st_size,
                        etag=local_etag(st),
                        event_time=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
                    )
                )
        for gone in set(self._pending) - seen:
            del self._pending[gone]
        return events


def _walk(base: Path) -> Iterator[tuple[Path, os.stat_result]]:
    stack = [base]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except FileNotFoundError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue  # temp files of writers that rename into place
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
            elif e.is_file(follow_symlinks=False):
                yield Path(e.path), e.stat()
