"""The local store's two newer duties: buckets that are folders elsewhere (PRAVAH_FOLDERS), and
deleting a processed input only while it is the file that was processed (delete_input)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pravah.storage import StoreError
from pravah.storage.local import LocalStore


def test_a_bucket_may_be_a_folder_elsewhere(tmp_path: Path) -> None:
    share = tmp_path / "mnt" / "share"
    share.mkdir(parents=True)
    store = LocalStore(tmp_path / "data", folders={"share": share})
    (share / "a.csv").write_text("x\n")
    assert store.uri("share", "a.csv") == str((share / "a.csv").resolve())
    assert store.head("share", "a.csv") is not None and store.bucket_path("other") == tmp_path / "data" / "other"
    with pytest.raises(StoreError):
        store.path("share", "../../escape")


def test_delete_processed_removes_only_the_file_that_was_read(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "logs").mkdir()
    f = tmp_path / "logs" / "app.log"
    f.write_text("first\n")
    read = store.head("logs", "app.log")
    assert read is not None
    f.write_text("rewritten after the job read it\n")
    later = f.stat().st_mtime_ns + 5_000_000_000  # a size change alone would do; a later time too
    os.utime(f, ns=(later, later))
    assert store.delete_processed("logs", "app.log", read.etag, None) is False and f.exists()
    now = store.head("logs", "app.log")
    assert now is not None and store.delete_processed("logs", "app.log", now.etag, None) is True
    assert not f.exists() and store.delete_processed("logs", "app.log", now.etag, None) is False
