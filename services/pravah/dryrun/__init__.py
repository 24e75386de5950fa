"""Dry-runs: a pipeline version (live, stored, or unsaved) on one sample object, its output's
first rows, schema and counts, before anything is applied — scratch outputs that expire, no job."""

from pravah.dryrun.result import DryRun
from pravah.dryrun.runner import MAX_ROWS, dry_run
from pravah.dryrun.spec import InvalidSpec

__all__ = ["MAX_ROWS", "DryRun", "InvalidSpec", "dry_run"]
