"""scripts/stack.py from a checkout the `postgres` user cannot enter (root's home, a 0700
temporary folder): PostgreSQL runs as `postgres`, so its cluster goes where it may write, and
its programs start from `/`, not from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import ROOT, free_port


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL through `runuser -u postgres`; others own their data folder")
def test_postgres_starts_from_a_checkout_only_root_can_enter() -> None:
    closed = Path(tempfile.mkdtemp(prefix="pravah-closed-"))  # mode 0700, owned by root
    assert closed.stat().st_mode & 0o777 == 0o700
    port = free_port()
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / 'scripts')!r})
import stack
stack.STATE.mkdir(parents=True)
stack.pg_up({port})
print(stack.pg_home())
stack.pg_down()
"""
    try:
        r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PRAVAH_STACK_DIR": str(closed / "checkout" / ".stack")},
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        home = Path(r.stdout.strip().splitlines()[-1])
        assert home != closed / "checkout" / ".stack" and home.parent == Path("/var/tmp")
        assert (home / "postgres" / "PG_VERSION").exists()
    finally:
        shutil.rmtree(closed, ignore_errors=True)
        if "home" in locals():
            shutil.rmtree(home, ignore_errors=True)
