"""Debian's Chromium for the browser tests: installs it when missing, prints its path.

    python3 scripts/browser.py        # installs /usr/bin/chromium if needed, prints the path
    from browser import chromium_path # the same, from Python (tests/web/conftest.py)

Playwright's own browser download is never used: it fetches from a host these machines cannot
reach. Playwright drives the distribution's Chromium through `executable_path` instead.
Idempotent and quick when Chromium is already there (no apt call at all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# fonts-liberation is only a Recommends of chromium-common; it gives screenshots the metric-compatible
# Arial/Times/Courier faces, without the rest of the recommends (udev, upower, mesa, printing).
PACKAGES = ("chromium", "fonts-liberation")


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _apt(*args: str) -> None:
    cmd = ["apt-get", *args]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise RuntimeError(f"{CHROMIUM} is missing and this user is not root and has no sudo: run `apt-get install -y {' '.join(PACKAGES)}` as root")
        cmd = ["sudo", "-n", *cmd]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    # apt's progress goes to stderr so that stdout carries only the path.
    done = subprocess.run(cmd, env=env, stdout=sys.stderr, stderr=sys.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {done.returncode}")


def install() -> Path:
    """Install Debian's chromium package (and fonts-liberation) if /usr/bin/chromium is missing."""
    if not _runnable(CHROMIUM):
        if shutil.which("apt-get") is None:
            raise RuntimeError(f"{CHROMIUM} is missing and there is no apt-get: install Chromium by hand")
        _apt("update", "-q")
        _apt("install", "-y", "-q", "--no-install-recommends", *PACKAGES)
        if not _runnable(CHROMIUM):
            raise RuntimeError(f"installed {PACKAGES[0]} but {CHROMIUM} is still missing")
    return CHROMIUM


def chromium_path() -> str:
    """Path of a Chromium executable for Playwright's `executable_path`, installing it if needed."""
    return str(install())


def main() -> int:
    try:
        print(chromium_path())
    except RuntimeError as err:
        print(f"browser.py: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
