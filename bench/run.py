"""Benchmarks side by side with peers: one table of wall time, MB/s, rows/s, peak RSS and
output size, median of N runs, same 2 threads for everyone, warm page cache.

    python bench/run.py [--rows 1000000] [--runs 5] [--tasks b1,b2,b4,b5,b7,b11csv,b11grep] [--big-gb 5]

B11 streams a --big-gb input (the sales CSV and the log repeated) once per tool, no warm-up:
its figure is peak RSS, which must stay flat whatever the input size.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from gen_data import write_log, write_sales_csv, write_sales_jsonl  # noqa: E402

TASKS = {
    "b1": ("CSV → Parquet zstd", "sales.csv", ["pravah", "duckdb", "polars", "datafusion", "pyarrow"]),
    "b2": ("NDJSON → Parquet", "sales.jsonl", ["pravah", "duckdb", "polars", "datafusion", "pyarrow"]),
    "b4": ("filter+rename+cast+select → Parquet", "sales.csv", ["pravah", "duckdb", "polars", "datafusion"]),
    "b5": ("group-by region count/sum/min/max/mean", "sales.csv", ["pravah", "duckdb", "polars", "datafusion"]),
    "b7": ("keep lines containing ERROR", "app.log", ["pravah", "ripgrep", "grep"]),
    "b11csv": ("big CSV → Parquet zstd (streamed)", "big.csv", ["pravah", "duckdb"]),
    "b11grep": ("big log, keep ERROR lines (streamed)", "big.log", ["pravah", "grep"]),
}
BIG = {"big.csv": "sales.csv", "big.log": "app.log"}


def repeat_to(src: Path, dst: Path, size: int, header: bool) -> None:
    """dst = src's lines repeated until it holds `size` bytes (the header kept once). Streamed:
    this process's peak RSS must stay small, because a child started with vfork reports at
    least its parent's peak RSS through wait4."""
    with src.open("rb") as f:
        head = f.readline() if header else b""
        start = f.tell()
    with dst.open("wb") as out:
        out.write(head)
        written = len(head)
        while written < size:
            with src.open("rb") as f:
                f.seek(start)
                while chunk := f.read(8 << 20):
                    out.write(chunk)
                    written += len(chunk)


def measure(tool: str, task: str, src: Path, dst: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run in a fresh process."""
    if dst.exists():
        dst.unlink()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, str(HERE / "one.py"), tool, task, str(src), str(dst)], env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise RuntimeError(f"{tool} {task} failed ({status})")
    return wall, usage.ru_maxrss / 1024


def rows_of(path: Path) -> int:
    with path.open("rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--log-lines", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--big-gb", type=float, default=5.0)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    a = ap.parse_args()
    a.data.mkdir(parents=True, exist_ok=True)
    files = {"sales.csv": lambda p: write_sales_csv(p, a.rows), "sales.jsonl": lambda p: write_sales_jsonl(p, a.rows),
             "app.log": lambda p: write_log(p, a.log_lines)}
    stamp = a.data / f"rows-{a.rows}-{a.log_lines}"
    if not stamp.exists():
        for name, make in files.items():
            print(f"generating {name} …", file=sys.stderr)
            make(a.data / name)
        stamp.touch()
    for big, small in BIG.items():
        want = int(a.big_gb * 1e9)
        if any(TASKS[t][1] == big for t in a.tasks.split(",")) and (
                not (a.data / big).exists() or abs((a.data / big).stat().st_size - want) > 0.01 * want):
            print(f"generating {big} ({a.big_gb} GB) …", file=sys.stderr)
            repeat_to(a.data / small, a.data / big, want, header=small.endswith(".csv"))
    tmp = a.data / "out"
    tmp.mkdir(exist_ok=True)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {date.today()}; "
        f"2 threads for every tool, warm cache, median of {a.runs} runs.",
        f"Command: `python bench/run.py --rows {a.rows} --log-lines {a.log_lines} --runs {a.runs} --big-gb {a.big_gb}`",
        "B11 rows: one run per tool, no warm-up (the input is streamed once; peak RSS is the figure).",
        "",
        "| task | tool | input MB | median s | MB/s | rows/s | peak RSS MB | output MB | vs fastest peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task in a.tasks.split(","):
        title, name, tools = TASKS[task]
        src = a.data / name
        mb = src.stat().st_size / 1e6
        rows = rows_of(src)
        results = {}
        for tool in tools:
            if tool in ("ripgrep",) and not shutil.which("rg", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}"):
                continue
            dst = tmp / f"{task}-{tool}.out"
            big = task.startswith("b11")
            if not big:
                measure(tool, task, src, dst)  # warm-up: page cache and imports
            runs = [measure(tool, task, src, dst) for _ in range(1 if big else a.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            results[tool] = (wall, rss, dst.stat().st_size / 1e6)
            print(f"{task} {tool}: {wall:.2f}s", file=sys.stderr)
        peers = [w for t, (w, _, _) in results.items() if t != "pravah"]
        best = min(peers) if peers else None
        for tool, (wall, rss, out_mb) in results.items():
            ratio = f"{best / wall:.2f}×" if best and tool == "pravah" else ""
            lines.append(
                f"| {task} {title} | {tool} | {mb:.0f} | {wall:.2f} | {mb / wall:.0f} | {rows / wall:,.0f} | {rss:.0f} | {out_mb:.1f} | {ratio} |"
            )
    table = "\n".join(lines)
    print(table)
    a.out.write_text("# Benchmark results\n\n" + table + "\n")


if __name__ == "__main__":
    main()
