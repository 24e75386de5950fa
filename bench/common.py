"""Helpers both end-to-end benchmark scripts use: processes, ports, percentiles."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from stack import free_port  # noqa: E402, F401  (the benchmarks take it from here)

PRAVAH = Path(sys.executable).parent / "pravah"


def publish(lines: list[str], path: str | None) -> None:
    """Print a results table, and write it to `path` (bench/results-*.md) when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if path:
        Path(path).write_text(text)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def need(tool: str, package: str) -> str:
    """A tool from Debian's packages, installed when missing (fd, pigz, unzip, wrk)."""
    found = shutil.which(tool)
    if found:
        return found
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = apt + ["install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(install, capture_output=True, env=env).returncode != 0:
        # A fresh machine has no package lists yet: fetch them once, then try again.
        subprocess.run(apt + ["update", "-q"], check=True, capture_output=True, env=env)
        subprocess.run(install, check=True, capture_output=True, env=env)
    return shutil.which(tool) or sys.exit(f"{tool} not available")


def serve(env: dict[str, str], role: str, log: Path) -> subprocess.Popen:
    """`pravah serve ROLE`; with PRAVAH_BENCH_PROFILE=1 under cProfile, its profile next to the log
    (LOG.prof, written when it stops: `python -m pstats LOG.prof`)."""
    cmd = [str(PRAVAH), "serve", role]
    if os.environ.get("PRAVAH_BENCH_PROFILE") == "1":
        cmd = [sys.executable, "-m", "cProfile", "-o", f"{log}.prof", *cmd]
    with log.open("ab") as f:
        return subprocess.Popen(cmd, env=env, stdout=f, stderr=f)


def stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_http(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")
