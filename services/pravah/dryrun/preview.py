"""Turning what the engine wrote into rows and a schema people can read. Tables: the schema
from a Parquet footer (the output itself, or the same steps written to Parquet when the sink is
CSV or JSON lines) and the rows from the engine's own JSON-lines rendering of that Parquet —
the rows the engine wrote, not a second opinion. Text: the first lines, decompressed by the
engine when the plan compressed them. Everything here blocks."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pravah.dryrun import parquet
from pravah.dryrun.result import Column
from pravah.dryrun.scratch import read_range
from pravah.storage import Store

TABLE_SOURCES = {"read_csv", "read_jsonl", "read_parquet"}
TABLE_SINKS = {"write_parquet", "write_csv", "write_jsonl"}
COMPRESS = {"gzip", "zstd"}
SUMMARIES = {"count", "word_freq"}
HEAD_BYTES = 4 << 20  # the most a preview reads of any file: enough for 200 wide rows

Steps = list[dict[str, Any]]
# (steps, input key in the scratch bucket or None for the sample, output key) → the engine's report
Runner = Callable[[Steps, str | None, str], Any]


def kind(steps: Steps) -> str:
    first = steps[0]["op"]
    if first in TABLE_SOURCES:
        return "table"
    if first == "grep" or first in SUMMARIES:
        return "lines"
    return "bytes"


def filters_rows(steps: Steps) -> bool:
    """Do rows out count the rows in that the steps kept (no aggregate, no summary)?"""
    return not any(s["op"] in ("aggregate", *SUMMARIES) for s in steps) and kind(steps) != "bytes"


@dataclass
class Rows:
    columns: list[Column]
    rows: list[list[Any]]
    complete: bool
    binary: bool = False


def _json_safe(v: Any) -> Any:
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v


def head_lines(store: Store, bucket: str, key: str, n: int) -> tuple[list[bytes], bool]:
    """The first `n` complete lines, and whether that is all there is."""
    data = read_range(store, bucket, key, 0, HEAD_BYTES)
    cut = len(data) == HEAD_BYTES  # there may be more, and the last line may be partial
    lines = data.split(b"\n")
    if lines and lines[-1] == b"" and not cut:
        lines.pop()
    if cut:
        lines.pop()
    return lines[:n], not cut and len(lines) <= n


def footer(store: Store, bucket: str, key: str) -> parquet.Footer:
    tail = read_range(store, bucket, key, -8, 8)
    length = parquet.footer_length(tail)
    return parquet.parse_footer(read_range(store, bucket, key, -(length + 8), length + 8)[:-8])


def table(store: Store, bucket: str, steps: Steps, output_key: str, scratch_key: Callable[[str], str], run: Runner,
          n: int) -> Rows:
    """Schema and first rows of a table plan whose output is at `output_key`."""
    sink = next(i for i, s in enumerate(steps) if s["op"] in TABLE_SINKS)
    pq = output_key
    if steps[sink]["op"] != "write_parquet":
        pq = scratch_key(".preview.parquet")
        run([*steps[:sink], {"op": "write_parquet", "compression": "none"}], None, pq)
    meta = footer(store, bucket, pq)
    jl = scratch_key(".preview.jsonl")
    run([{"op": "read_parquet"}, {"op": "write_jsonl"}], pq, jl)
    lines, _ = head_lines(store, bucket, jl, n)
    names = [c.name for c in meta.columns]
    rows = []
    for line in lines:
        obj = json.loads(line)  # the JSON writer leaves out null fields
        rows.append([_json_safe(obj.get(c)) for c in names])
    return Rows([Column(name=c.name, type=c.type) for c in meta.columns], rows, complete=meta.num_rows <= len(rows))


def text(store: Store, bucket: str, steps: Steps, output_key: str, scratch_key: Callable[[str], str], run: Runner,
         n: int) -> Rows:
    """First lines of a text or bytes plan's output, as a small table where the plan has a shape."""
    ops = [s["op"] for s in steps]
    if ops[-1] in COMPRESS:
        if len(ops) == 1 or ops == ["decompress", ops[-1]]:  # compressed bytes: nothing to read
            return Rows([], [], complete=False, binary=True)
        plain = scratch_key(".preview.txt")
        run([{"op": "decompress"}], output_key, plain)
        output_key = plain
    if "count" in ops:
        lines, _ = head_lines(store, bucket, output_key, 1)
        doc = json.loads(lines[0]) if lines else {}
        return Rows([Column(name=k, type="uint64") for k in doc], [list(doc.values())] if doc else [], complete=True)
    if "word_freq" in ops:
        lines, complete = head_lines(store, bucket, output_key, n + 1)
        parsed = list(csv.reader(io.StringIO(b"\n".join(lines).decode("utf-8", "replace"))))
        rows = [[w, int(c)] for w, c in parsed[1:]]
        return Rows([Column(name="word", type="string"), Column(name="count", type="uint64")], rows[:n], complete=complete and len(rows) <= n)
    if ops == ["sha256"]:
        lines, _ = head_lines(store, bucket, output_key, 1)
        digest, _, name = lines[0].decode().partition("  ") if lines else ("", "", "")
        return Rows([Column(name="sha256", type="string"), Column(name="name", type="string")], [[digest, name]], complete=True)
    lines, complete = head_lines(store, bucket, output_key, n)
    try:
        decoded = [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError:
        return Rows([], [], complete=False, binary=True)
    if any("\x00" in line for line in decoded):
        return Rows([], [], complete=False, binary=True)
    return Rows([Column(name="line", type="string")], [[line] for line in decoded], complete=complete)
