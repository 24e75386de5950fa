"""A process without the api role starts without the API's stack (FastAPI) and alembic, and a
worker without FastStream: each cost a restarted process a second or so before it served."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
from pravah.cli import app  # what the `pravah` script imports
from pravah.server import Server
from pravah.settings import Settings

Server(Settings(database_url={url!r}, ops={{"port": 0}}), {roles!r})
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}} & {{"fastapi", "starlette", "alembic", "faststream", "aiokafka"}})))
"""


@pytest.mark.parametrize(("roles", "expected"), [
    ({"worker"}, ""),
    ({"worker", "relay"}, "aiokafka faststream"),
])
def test_roles_import_only_what_they_use(db_url: str, roles: set[str], expected: str) -> None:
    r = subprocess.run([sys.executable, "-c", CHECK.format(url=db_url, roles=roles)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected
