"""Work over objects that already exist: backfills (a prefix listed and turned into jobs, resumable,
cancellable, a record with progress) and the reconcile sweep (a periodic backfill of every bound
prefix that makes the jobs whose events never arrived)."""
