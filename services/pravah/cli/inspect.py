"""`pravah inspect FILE`: what a read step makes of a file — the dialect the sniffer found,
the inferred columns, the first rows and any bad rows — so a pipeline can be written from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pravah import engine
from pravah.cli.common import err, out

READERS = {".csv": "read_csv", ".tsv": "read_csv", ".txt": "read_csv", ".jsonl": "read_jsonl", ".ndjson": "read_jsonl", ".parquet": "read_parquet"}


def _reader(path: str, fmt: str | None) -> str:
    if fmt:
        return f"read_{fmt}"
    suffixes = [s for s in Path(path).suffixes if s not in (".gz", ".zst")]
    return READERS.get(suffixes[-1].lower() if suffixes else "", "read_csv")


def _csv_options(dialect: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The options to write into a pipeline so it reads the file the way inspect just did."""
    found: dict[str, Any] = {}
    if dialect["delimiter"] != ",":
        found["delimiter"] = dialect["delimiter"]
    if dialect["quote"] != '"':
        found["quote"] = dialect["quote"]
    if dialect["escape"]:
        found["escape"] = dialect["escape"]
    if not dialect["header"]:
        found["header"] = False
    if dialect["encoding"] not in ("utf-8", "utf-8-sig"):
        found["encoding"] = dialect["encoding"]
    return {**{k: v for k, v in given.items() if k not in ("delimiter", "quote", "header", "encoding")}, **found}


def inspect(
    file: Annotated[str, typer.Argument(help="A local path, file:// or s3:// URI (gzip/zstd are read through).")],
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, help="Rows to show.")] = 10,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from the extension, else csv).")] = None,
    delimiter: Annotated[str, typer.Option(help="A character or auto.")] = "auto",
    quote: Annotated[str, typer.Option(help="A character or auto.")] = "auto",
    encoding: Annotated[str, typer.Option(help="auto, utf-8, utf-16le, latin-1, windows-1252, …")] = "auto",
    header: Annotated[str, typer.Option(help="true, false or auto.")] = "auto",
    skip_rows: Annotated[int, typer.Option(min=0, help="Preamble lines to skip.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inspection as JSON.")] = False,
) -> None:
    """Show the dialect, inferred columns and first rows of a file (CSV dialect sniffed)."""
    op = _reader(file, fmt)
    given: dict[str, Any] = {}
    if op == "read_csv":
        given = {"delimiter": delimiter, "quote": quote, "encoding": encoding, "skip_rows": skip_rows,
                 "header": {"true": True, "false": False}.get(header.lower(), header)}
    try:
        found = engine.inspect({"op": op, **given}, file, rows=rows)
    except engine.EngineError as e:
        err.print(f"[red]{type(e).__name__}:[/] {e}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(found))
        return
    d = found.get("dialect")
    if d:
        out.print(f"dialect: delimiter {d['delimiter']!r}  quote {d['quote']!r}  escape {d['escape']!r}  header {str(d['header']).lower()}  "
                  f"encoding {d['encoding']}  {d['columns']} columns", highlight=False)
    cols = Table("column", "type", title="columns", title_justify="left")
    for name, type_ in found["columns"]:
        cols.add_row(name, type_)
    out.print(cols)
    sample = Table(*[name for name, _ in found["columns"]], title=f"first {len(found['rows'])} rows", title_justify="left")
    for row in found["rows"]:
        sample.add_row(*["∅" if v is None else v for v in row])
    out.print(sample)
    if found["rows_rejected"]:
        out.print(f"[yellow]{found['rows_rejected']} bad row(s) on the way[/]; first ones:")
        for r in found["rejected"]:
            out.print(f"  line {r['line']} (byte {r['byte_offset']}): {r['reason']}\n    {r['raw']!r}", highlight=False)
    if d:
        options = _csv_options(d, {k: v for k, v in given.items() if k == "skip_rows" and v})
        step = f"- read_csv: {json.dumps(options)}" if options else "- read_csv"
        out.print(f"in a pipeline:\n  {step}", highlight=False)
