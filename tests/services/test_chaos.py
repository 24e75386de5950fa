"""The chaos run at a small size (the large one is `make chaos`): no upload lost, none
processed twice, whatever is killed or restarted."""

from __future__ import annotations

import random
from pathlib import Path

from .chaos import run


def test_chaos_small(stack: dict[str, str], pg_url: str, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    report = run(stack, pg_url, files=60, seed=seed, logs=tmp_path, window=24)
    print(report.table())
    assert report.ok, f"{report.table()}\nlogs: {tmp_path}"
    assert len(report.recoveries) == 6
