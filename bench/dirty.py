"""Dirty CSV → Parquet: the sales CSV with 1 % bad rows (an extra field), read by Pravah with
quarantine (default) and skip, next to duckdb's ignore_errors / store_rejects and polars'
ignore_errors; and what the sniffer and the decoder cost on the clean file (declared dialect
vs `delimiter: auto` vs transcoding windows-1252). Each run in its own process, 2 threads.

    python bench/dirty.py [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
THREADS = "2"

# tool → (what it does, input file)
CASES = {
    "pravah-clean": ("declared dialect, clean file (baseline)", "sales.csv"),
    "pravah-auto": ("delimiter/quote auto (sniffer), clean file", "sales.csv"),
    "pravah-1252": ("encoding windows-1252 (transcoded), clean file", "sales.csv"),
    "pravah-quarantine": ("1 % bad rows, quarantined to rejects", "dirty.csv"),
    "pravah-skip": ("1 % bad rows, skipped", "dirty.csv"),
    "duckdb-ignore": ("1 % bad rows, ignore_errors", "dirty.csv"),
    "duckdb-rejects": ("1 % bad rows, store_rejects", "dirty.csv"),
    "polars-ignore": ("1 % bad rows, ignore_errors + truncate_ragged_lines", "dirty.csv"),
}


def run_one(case: str, src: str, dst: str) -> int:
    """Run one case here; returns the rows written."""
    if case.startswith("pravah"):
        from pravah import engine

        read = {"op": "read_csv", "delimiter": ",", "encoding": "utf-8"}
        read.update({"pravah-auto": {"delimiter": "auto", "quote": "auto"}, "pravah-1252": {"encoding": "windows-1252"},
                     "pravah-skip": {"on_bad_rows": "skip"}}.get(case, {}))
        return engine.run([read, {"op": "write_parquet"}], src, dst).rows_out
    if case.startswith("duckdb"):
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads={THREADS}")
        opt = "ignore_errors=true" if case == "duckdb-ignore" else "store_rejects=true"
        con.execute(f"COPY (SELECT * FROM read_csv('{src}', {opt})) TO '{dst}' (FORMAT PARQUET, COMPRESSION ZSTD)")
        return con.execute(f"SELECT count(*) FROM '{dst}'").fetchone()[0]
    os.environ["POLARS_MAX_THREADS"] = THREADS
    import polars as pl

    df = pl.read_csv(src, ignore_errors=True, truncate_ragged_lines=True)
    df.write_parquet(dst, compression="zstd")
    return df.height


def measure(case: str, src: Path, dst: Path) -> tuple[float, float, int]:
    if dst.exists():
        dst.unlink()
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, __file__, "--one", case, str(src), str(dst)], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read() if p.stdout else ""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise RuntimeError(f"{case} failed ({status})")
    return wall, usage.ru_maxrss / 1024, int(out.strip() or 0)


def make_dirty(clean: Path, dirty: Path, every: int = 100) -> int:
    """Every `every`-th data row gets an extra field: a bad row under any strict reader."""
    bad = 0
    with clean.open("rb") as f, dirty.open("wb") as out:
        out.write(f.readline())
        for i, line in enumerate(f, 1):
            if i % every == 0:
                out.write(line.rstrip(b"\r\n") + b",EXTRA\n")
                bad += 1
            else:
                out.write(line)
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--out", type=Path, default=HERE / "results-dirty.md")
    ap.add_argument("--one", nargs=3, metavar=("CASE", "SRC", "DST"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(run_one(*a.one))
        return
    from gen_data import write_sales_csv

    a.data.mkdir(parents=True, exist_ok=True)
    clean, dirty = a.data / "sales.csv", a.data / "dirty.csv"
    stamp = a.data / f"rows-{a.rows}-dirty"
    if not stamp.exists() or not clean.exists():
        write_sales_csv(clean, a.rows)
    bad = make_dirty(clean, dirty)
    stamp.touch()
    out_dir = a.data / "out"
    out_dir.mkdir(exist_ok=True)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {date.today()}; "
        f"2 threads for every tool, warm cache, median of {a.runs} runs after a warm-up.",
        f"Command: `python bench/dirty.py --rows {a.rows} --runs {a.runs}` — dirty.csv = sales.csv with {bad:,} rows "
        f"(1 %) given an extra field.",
        "",
        "| case | what | input MB | median s | MB/s | rows written | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, (what, name) in CASES.items():
        src = a.data / name
        dst = out_dir / f"dirty-{case}.parquet"
        measure(case, src, dst)
        runs = [measure(case, src, dst) for _ in range(a.runs)]
        wall = statistics.median(r[0] for r in runs)
        mb = src.stat().st_size / 1e6
        print(f"{case}: {wall:.2f}s", file=sys.stderr)
        lines.append(f"| {case} | {what} | {mb:.0f} | {wall:.2f} | {mb / wall:.0f} | {runs[0][2]:,} | {max(r[1] for r in runs):.0f} |")
    table = "\n".join(lines)
    print(table)
    a.out.write_text("# Dirty CSV benchmark\n\n" + table + "\n")


if __name__ == "__main__":
    main()
