"""Shared fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pravah.db.session import migrate


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database with every migration applied (what embedded mode runs on)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    return url
