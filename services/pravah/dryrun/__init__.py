"""Dry-runs: a pipeline version (live, stored, or unsaved) on one sample object, its output's
first rows, schema and counts, before anything is applied — scratch outputs that expire, no job.
Names load on first use: the CLI imports this package on every call, the runner's database and
store layers only when a dry-run runs."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from pravah.dryrun.result import MAX_ROWS, DryRun

__all__ = ["MAX_ROWS", "DryRun", "InvalidSpec", "dry_run"]
_LAZY = {"dry_run": "pravah.dryrun.runner", "InvalidSpec": "pravah.dryrun.spec"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pravah.dryrun' has no attribute {name!r}")
