"""The uploading client: parts read straight from the file (no part is held in memory whole)
and PUT to their presigned URLs, several at once, each retried on failure with a fresh URL;
`resume` finds the server's open session for the same file and sends only the missing parts."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpx

from pravah.cli.client import ApiError, Client

CHUNK = 1 << 20
SIGN_AHEAD = 64  # part URLs signed per request (they expire; do not sign all 9,000 at once)
RETRIES = 5


class UploadFailed(Exception):
    pass


def _chunks(fd: int, offset: int, size: int, sent: Callable[[int], None]) -> Iterator[bytes]:
    end = offset + size
    while offset < end:
        data = os.pread(fd, min(CHUNK, end - offset), offset)
        if not data:
            raise UploadFailed(f"the file became shorter while uploading (at byte {offset:,})")
        offset += len(data)
        sent(len(data))
        yield data


def find_open(client: Client, path: Path, size: int, mtime_ms: int, prefix: str | None) -> dict | None:
    """The server's open session for this very file (name, size and mtime agree)."""
    for u in client.get("/v1/uploads", params={"status": "OPEN"}):
        if u["filename"] == path.name and u["size"] == size and u["last_modified"] == mtime_ms:
            if prefix is None or f"{u['bucket']}/{u['key']}".startswith(prefix.rstrip("/") + "/"):
                return u
    return None


def upload(client: Client, path: Path, prefix: str | None, *, resume: bool = False, parallel: int = 4,
           on_start: Callable[[dict, int, bool], None] = lambda u, done, resumed: None, on_bytes: Callable[[int], None] = lambda n: None) -> dict:
    """Upload one file; returns the completed upload (with `will_run`, and `job_id` once known)."""
    st = path.stat()
    size, mtime_ms = st.st_size, st.st_mtime_ns // 1_000_000
    u = find_open(client, path, size, mtime_ms, prefix) if resume else None
    resumed = u is not None
    if u is not None:
        u = client.get(f"/v1/uploads/{u['id']}")
        todo = u["missing_parts"]
    else:
        u = client.post("/v1/uploads", {"filename": path.name, "size": size, "prefix": prefix, "last_modified": mtime_ms})
        todo = list(range(1, u["parts"] + 1))
    psize, parts = u["part_size"], u["parts"]

    def part_len(n: int) -> int:
        return psize if n < parts else size - psize * (parts - 1)

    on_start(u, size - sum(part_len(n) for n in todo), resumed)
    urls: dict[int, str] = {}
    lock = threading.Lock()

    def url_for(n: int, fresh: bool = False) -> str:
        with lock:
            if fresh or n not in urls:
                ahead = [m for m in todo if m > n and m not in urls][: SIGN_AHEAD - 1]
                batch = [n, *ahead]
                urls.update({int(k): v for k, v in client.post(f"/v1/uploads/{u['id']}/parts", {"parts": batch})["urls"].items()})
            return urls[n]

    local = threading.local()
    fd = os.open(path, os.O_RDONLY)

    def put(n: int) -> None:
        http = getattr(local, "http", None) or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
        local.http = http
        offset, length = psize * (n - 1), part_len(n)
        for attempt in range(RETRIES):
            counted = 0

            def sent(k: int) -> None:
                nonlocal counted
                counted += k
                on_bytes(k)

            try:
                r = http.put(url_for(n, fresh=attempt > 0), content=_chunks(fd, offset, length, sent),
                             headers={"Content-Length": str(length)})
                if r.status_code < 300:
                    return
                problem = f"HTTP {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as e:
                problem = str(e)
            on_bytes(-counted)  # those bytes go again
            if attempt == RETRIES - 1:
                raise UploadFailed(f"part {n} of {path} failed {RETRIES} times; last: {problem}")
            time.sleep(0.5 * 2**attempt)

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            for f in as_completed([pool.submit(put, n) for n in todo]):
                f.result()
    finally:
        os.close(fd)
    return client.post(f"/v1/uploads/{u['id']}/complete")


def wait_for_job(client: Client, upload: dict, timeout: float = 30.0) -> str | None:
    """The id of the job the completed upload started (ingest sees the object within seconds)."""
    if upload.get("job_id") or upload.get("will_run") is None:
        return upload.get("job_id")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            job = client.get(f"/v1/uploads/{upload['id']}").get("job_id")
        except ApiError:
            continue
        if job:
            return job
    return None


def describe(u: dict[str, Any]) -> str:
    run = u.get("will_run")
    return f"{u['bucket']}/{u['key']}" + (f" → {run['pipeline']}@{run['pipeline_version']}" if run else " (no binding: no job will start)")
