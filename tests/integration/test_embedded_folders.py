"""Embedded mode on folders anywhere (PRAVAH_FOLDERS): a bucket that is a folder outside
Pravah's home is watched like the ones under it — a file dropped there is processed, and the
output can go to another outside folder; a folder that does not exist is one line at start."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

PRAVAH = Path(sys.executable).parent / "pravah"
PIPELINES = """\
pipelines:
  - name: squeeze
    steps: [gzip]
    output: archive/{key}.gz
bindings:
  - { bucket: shared, prefix: logs/, pipeline: squeeze }
"""

pytestmark = pytest.mark.slow


def test_a_folder_outside_home_is_watched_and_written(tmp_path: Path) -> None:
    (tmp_path / "pipelines.yaml").write_text(PIPELINES)
    shared, archive = tmp_path / "nfs" / "team-share", tmp_path / "backup" / "archive"
    (shared / "logs").mkdir(parents=True)
    archive.mkdir(parents=True)
    (shared / "logs" / "old.log").write_text("was there before\n")
    env = {**os.environ, "PRAVAH_FOLDERS": f'{{"shared": "{shared}", "archive": "{archive}"}}',
           "PRAVAH_WATCHER__SETTLE_SECONDS": "0.2", "PRAVAH_WATCHER__POLL_SECONDS": "0.1", "PRAVAH_WORKER__POLL_SECONDS": "0.05"}
    home = tmp_path / "home"
    with (tmp_path / "up.log").open("wb") as log:
        up = subprocess.Popen([str(PRAVAH), "up", "--home", str(home), "--port", "0", "-p", str(tmp_path / "pipelines.yaml")],
                              env=env, stdout=log, stderr=log)
    try:
        (shared / "logs" / "new.log").write_text("dropped while up\n" * 100)
        deadline = time.monotonic() + 60
        want = {archive / "logs" / "new.log.gz", archive / "logs" / "old.log.gz"}
        while not all(p.exists() for p in want):
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.1)
        assert gzip.decompress((archive / "logs" / "new.log.gz").read_bytes()) == b"dropped while up\n" * 100
        assert not (home / "data" / "shared").exists() and not (home / "data" / "archive").exists()
        assert f"shared → {shared}" in (tmp_path / "up.log").read_text()
    finally:
        up.terminate()
        up.wait(20)
    bad = subprocess.run([str(PRAVAH), "up", "--home", str(home), "--port", "0", "-p", str(tmp_path / "pipelines.yaml")],
                         env={**env, "PRAVAH_FOLDERS": '{"shared": "/no/such/place"}'}, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "PRAVAH_FOLDERS: bucket 'shared': /no/such/place is not a folder" in bad.stderr, bad.stderr
