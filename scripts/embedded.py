"""`pravah up` in a process of its own, on a free loopback port, ready when this returns: for
the browser tests and `make screenshots`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from stack import free_port, stop  # noqa: F401  (scripts/ is on the path of whoever imports this)

PRAVAH = Path(sys.executable).parent / "pravah"



@contextlib.contextmanager
def pravah_up(home: Path, pipelines: Path, timeout: float = 60) -> Iterator[str]:
    """The API's base URL while the block runs; PRAVAH_* settings of the caller are left out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAVAH_")}
    home.mkdir(parents=True, exist_ok=True)
    log = home / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(PRAVAH), "up", "--home", str(home), "--port", str(port), "-p", str(pipelines)],
                                env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pravah up did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)
