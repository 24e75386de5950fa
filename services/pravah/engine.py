"""Typed facade over the Rust engine; the only module that imports `pravah._engine`.

Importing it is part of every command's start (the CLI, a worker, one benchmark run), so it
imports nothing heavy: no json (the binding converts dicts itself), no dataclasses or typing
(together ~45 ms of a 65 ms import before)."""

from __future__ import annotations

from pravah import _engine
from pravah._engine import (
    CancelledError,
    EngineError,
    ExpressionError,
    InputFormatError,
    InternalError,
    LimitError,
    NotFoundError,
    OptionError,
    PlanError,
    StorageError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from typing import Any

    Progress = Callable[[dict[str, int]], bool | None]

__all__ = [
    "CancelledError",
    "EngineError",
    "ExpressionError",
    "InputFormatError",
    "InternalError",
    "LimitError",
    "NotFoundError",
    "OptionError",
    "Output",
    "PlanError",
    "Report",
    "ScanSummary",
    "StorageError",
    "check_expr",
    "check_plan",
    "check_step",
    "inspect",
    "list_page",
    "run",
    "scan",
]

class _Record:
    """A frozen value, as a frozen dataclass would make it: the fields are the class's
    annotations in order (by keyword or position), a class attribute is a field's default (a
    list is copied for each value), equal and hashed by its fields, shown as `Name(a=1, …)`."""

    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(cls.__dict__.get("__annotations__", {}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        name = type(self).__name__
        if len(args) > len(self._fields):
            raise TypeError(f"{name}() takes {len(self._fields)} fields, {len(args)} given")
        values = dict(zip(self._fields, args))
        for field, value in kwargs.items():
            if field not in self._fields or field in values:
                raise TypeError(f"{name}() got an unexpected or repeated field {field!r}")
            values[field] = value
        for field in self._fields:
            if field not in values:
                if not hasattr(type(self), field):
                    raise TypeError(f"{name}() missing field {field!r}")
                default = getattr(type(self), field)
                values[field] = list(default) if isinstance(default, list) else default
            object.__setattr__(self, field, values[field])

    def __setattr__(self, field: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {field!r}")

    def __delattr__(self, field: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {field!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class Output(_Record):
    uri: str
    size: int
    sha256: str
    content_type: str | None = None  # stored with it on S3, by its extension


class Report(_Record):
    rows_in: int
    rows_out: int
    bytes_in: int
    bytes_out: int
    input_size: int
    input_codec: str
    duration_ms: int
    outputs: list[Output] = []
    # Bad rows set aside by the read step's `on_bad_rows`; quarantined ones are in `rejects`.
    rows_rejected: int = 0
    rejects: Output | None = None
    # The CSV dialect the read settled on (delimiter, quote, escape, header, encoding, columns).
    dialect: dict[str, Any] | None = None
    # unzip/untar: the manifest written last (the commit of the set of outputs), and the
    # members passed over (links, devices), each with why.
    manifest: Output | None = None
    skipped: list[str] = []

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["outputs"] = [o.__dict__ for o in self.outputs]
        d["rejects"] = self.rejects.__dict__ if self.rejects else None
        d["manifest"] = self.manifest.__dict__ if self.manifest else None
        return d


def run(
    steps: list[dict[str, Any]],
    input_uri: str,
    output_uri: str,
    *,
    storage_options: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    memory_bytes: int | None = None,
    max_outputs: int | None = None,
) -> Report:
    """Run one object through `steps`. Blocks; releases the GIL; raises an EngineError subclass.
    `memory_bytes` bounds what grows with the data (aggregate groups): past it, LimitError;
    `max_outputs` the objects one run may write (an unzip fails before the one over it).
    For unzip/untar `output_uri` is a prefix: each member goes under it."""
    plan = {"steps": steps, "limits": {"memory_bytes": memory_bytes, "max_outputs": max_outputs}}
    raw = _engine.run(plan, input_uri, output_uri, dict(storage_options or {}), progress)
    raw["outputs"] = [Output(**o) for o in raw["outputs"]]
    for one in ("rejects", "manifest"):
        raw[one] = Output(**raw[one]) if raw.get(one) else None
    return Report(**raw)


def inspect(step: dict[str, Any], input_uri: str, *, rows: int = 10,
            storage_options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What one read step makes of `input_uri`: dialect, columns and types, the first `rows`
    rows as text, and the bad rows seen on the way (nothing is written)."""
    return _engine.inspect(step, input_uri, dict(storage_options or {}), rows)


class ScanSummary(_Record):
    """What a scan saw: `entries` is everything listed, `files`/`bytes` what the filters kept;
    `by_extension` is [{extension, files, bytes}] biggest first, `error_samples` [{path, reason}]."""

    root: str
    sized: bool  # False after a names-only walk: `bytes` is unknown, not zero
    entries: int
    files: int
    bytes: int
    skipped: int
    dirs: int
    symlinks: int
    others: int
    errors: int
    error_samples: list[dict[str, str]]
    by_extension: list[dict[str, Any]]
    headers: int  # with headers=True: header rows read, and files whose header could not be
    header_errors: int
    elapsed_ms: int
    entries_per_s: float


def scan(
    root: str,
    *,
    globs: list[str] | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    modified_before: datetime | None = None,
    modified_after: datetime | None = None,
    output: str | None = None,
    storage_options: Mapping[str, str] | None = None,
    threads: int = 2,
    concurrency: int = 8,
    names_only: bool = False,
    headers: bool = False,
    delimiter: str | None = None,
) -> ScanSummary:
    """Walk a local tree or list `s3://bucket/prefix` in the engine. Kept entries are written as
    JSON lines to `output` (a path, or "-" for stdout) by Rust, or as a Parquet table to a path
    ending in .parquet; only the summary comes back.
    `names_only` skips the stat of each local file (no sizes or times; a syscall less per file).
    `headers` reads each kept file's (object's: a ranged GET) first row as a CSV header (fields, the `delimiter`
    given or sniffed, or why not) into its entry.
    Blocks; releases the GIL; NotFoundError for a missing root, OptionError for a bad glob."""
    options = {
        "globs": globs or [],
        "min_size": min_size,
        "max_size": max_size,
        "modified_before": _ms(modified_before),
        "modified_after": _ms(modified_after),
        "threads": threads,
        "concurrency": concurrency,
        "names_only": names_only,
        "headers": headers,
        "delimiter": delimiter,
    }
    raw = _engine.scan(root, options, output, dict(storage_options or {}))
    return ScanSummary(**raw)


def _ms(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1000)


def check_plan(steps: list[dict[str, Any]]) -> None:
    """Raise PlanError/ExpressionError if `steps` could never run."""
    _engine.check_plan({"steps": steps})


def check_step(step: dict[str, Any]) -> None:
    """Raise PlanError/ExpressionError if this one step (a dict with "op") is malformed."""
    _engine.check_step(step)


def check_expr(expr: str) -> None:
    """Raise ExpressionError (with .line/.column) if `expr` does not parse."""
    _engine.check_expr(expr)


def list_page(root: str, after: str | None = None, *, max_keys: int = 1000,
              storage_options: Mapping[str, str] | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Up to `max_keys` (≤ 1000) objects of `root` (s3://bucket/prefix, the prefix as given) whose
    keys sort after `after`, in key order, and whether the store has more: one listing request.
    Each object: key, size, etag, modified_ms. NotFoundError for a missing bucket."""
    raw = _engine.list_page(root, after, max_keys, dict(storage_options or {}))
    return raw["objects"], raw["more"]
