"""Start-up migrations: session.HEAD is alembic's head, and a database already at it is left
alone without importing alembic (a restarted process serves sooner)."""

from __future__ import annotations

import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory

from pravah.db import session


def test_head_is_the_newest_migration() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(session.MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [session.HEAD], "a new migration: set pravah.db.session.HEAD to its revision"


def test_a_database_at_head_is_left_alone_without_alembic(db_url: str) -> None:
    check = f"import sys; from pravah.db.session import migrate; migrate({db_url!r}); assert 'alembic' not in sys.modules, 'alembic imported'"
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
