"""Benchmarks side by side with peers: one table of wall time, MB/s, rows/s, peak RSS and
output size, median of N runs, same 2 threads for everyone, warm page cache. The runs of a task
go round its tools (one run of each per round): this machine's speed drifts by a quarter from
minute to minute, and a drift then falls on every tool alike.

    python bench/run.py [--rows 1000000] [--runs 5] [--tasks b1,b2,b3,b4,b5,b7,b8,b11,b12] [--big-gb 5]

--tasks takes task names or groups: b3 = b3gz,b3zst (csv.gz / csv.zst → Parquet); b8 = gzip -6
and -1, gunzip, zstd -3 and -1, unzstd (pravah next to gzip, pigz -p 2, zstd -T2; pigz is
installed from Debian when missing, a tool that cannot be had is skipped with a line saying so);
b11 = b11csv,b11grep.
B11 streams a --big-gb input (the sales CSV and the log repeated) once per tool, no warm-up
run: its figure is peak RSS, which must stay flat whatever the input size. The input is read
through once just before each tool's run, so every tool starts from the same page cache (the
tool before it, or B11 CSV's 1 GB output, may have pushed part of it out).
B12 reads s3://bench-b12/sales.csv and writes s3://bench-b12/out-TOOL.parquet on the MinIO of
`make stack` (scripts/stack.py; PRAVAH_STACK_DIR points at another checkout's stack). It runs when
--tasks names it, or by default when that MinIO answers. duckdb's httpfs comes from PyPI
(duckdb-extension-httpfs), whose newest build is for an older duckdb than the project's: that
row runs in a side virtualenv under ~/.cache/pravah/bench with the duckdb it was built for.
Outputs are checked: Parquet read back by pyarrow (rows = --rows, zstd), B8 outputs
decompressed to the sales CSV's sha256. A failed check marks the row and drops it from the
fastest peer.
"""

from __future__ import annotations

import argparse
import json
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

import stack as services  # noqa: E402  (scripts/stack.py, standard library only)
from common import need  # noqa: E402
from gen_data import write_compressed, write_log, write_sales_csv, write_sales_jsonl  # noqa: E402
from one import B8  # noqa: E402

TABLE = ["pravah", "duckdb", "polars", "datafusion", "pyarrow"]
TASKS = {
    # pravah-zstd3: Pravah at zstd level 3, the level duckdb, polars and datafusion write by
    # default (Pravah's own default is 1, as pyarrow's), so both choices are in the same run.
    "b1": ("CSV → Parquet zstd", "sales.csv", ["pravah", "pravah-zstd3", *TABLE[1:]]),
    "b2": ("NDJSON → Parquet", "sales.jsonl", TABLE),
    "b3gz": ("csv.gz → Parquet zstd", "sales.csv.gz", TABLE),
    "b3zst": ("csv.zst → Parquet zstd", "sales.csv.zst", TABLE),
    "b4": ("filter+rename+cast+select → Parquet", "sales.csv", ["pravah", "duckdb", "polars", "datafusion"]),
    "b5": ("group-by region count/sum/min/max/mean", "sales.csv", ["pravah", "duckdb", "polars", "datafusion"]),
    "b7": ("keep lines containing ERROR", "app.log", ["pravah", "ripgrep", "grep"]),
    **{
        task: (
            f"{codec} -{level} compress" if level else f"{codec} decompress",
            "sales.csv" if level else f"sales.csv.{'gz' if codec == 'gzip' else 'zst'}",
            ["pravah", "gzip", "pigz"] if codec == "gzip" else ["pravah", "zstd"],
        )
        for task, (codec, level) in B8.items()
    },
    "b11csv": ("big CSV → Parquet zstd (streamed)", "big.csv", ["pravah", "duckdb"]),
    "b11grep": ("big log, keep ERROR lines (streamed)", "big.log", ["pravah", "grep"]),
    "b12": ("S3 CSV → S3 Parquet zstd (MinIO)", "sales.csv", ["pravah", "duckdb", "polars", "pyarrow"]),
}
GROUPS = {"b3": ["b3gz", "b3zst"], "b8": list(B8), "b11": ["b11csv", "b11grep"]}
BIG = {"big.csv": "sales.csv", "big.log": "app.log"}
PARQUET = {"b1", "b2", "b3gz", "b3zst", "b12"}  # outputs checked: --rows rows, zstd
BUCKET = "bench-b12"
# The newest duckdb-extension-httpfs on PyPI; an extension loads only into the duckdb it was built for.
DUCKDB_HTTPFS = "1.5.5"
CLI = {"ripgrep": "rg", "gzip": "gzip", "pigz": "pigz", "zstd": "zstd"}
DEBIAN = {"pigz": "pigz", "zstd": "zstd", "gzip": "gzip"}  # installed when missing, as bench/scan.py does fd


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


def measure(tool: str, task: str, src: str, dst: str, python: str = sys.executable, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one run in a fresh process."""
    if "://" not in dst and Path(dst).exists():
        Path(dst).unlink()
    env = {**os.environ, **(env or {}), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    # The warm-up run leaves each tool's bytecode behind, as any installed system has it: with
    # PYTHONDONTWRITEBYTECODE set (and a venv installed without bytecode) every run compiled the
    # tool's Python modules again, 0.1–0.5 s a start for polars, duckdb or datafusion.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t = time.perf_counter()
    p = subprocess.Popen([python, str(HERE / "one.py"), tool, task, src, dst], env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise RuntimeError(f"{tool} {task} failed ({status})")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def read_through(path: Path) -> None:
    """Read `path` once, untimed, so it is in the page cache as far as memory allows."""
    with path.open("rb") as f:
        while f.read(8 << 20):
            pass


def rows_of(path: Path) -> int:
    with path.open("rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


def s3_env() -> dict[str, str] | None:
    """Endpoint and credentials of the stack's MinIO for the children, or None if it does not answer."""
    if not (services.STATE / "ports.json").exists():
        return None
    port = services.ports()["minio"]
    if not services.listening(port):
        return None
    return {"BENCH_S3_ENDPOINT": f"http://127.0.0.1:{port}", "BENCH_S3_KEY": services.MINIO_USER, "BENCH_S3_SECRET": services.MINIO_PASSWORD}


def httpfs_python() -> str:
    """Python of a side virtualenv with duckdb DUCKDB_HTTPFS and PyPI's httpfs build for it (made once)."""
    venv = services.CACHE / "bench" / f"duckdb-httpfs-{DUCKDB_HTTPFS}"
    python = venv / "bin" / "python"
    if not python.exists():
        uv = Path(sys.executable).parent / "uv"
        subprocess.run([str(uv), "venv", "-q", "-p", sys.executable, str(venv)], check=True)
        subprocess.run(
            [str(uv), "pip", "install", "-q", "--python", str(python), f"duckdb=={DUCKDB_HTTPFS}", f"duckdb-extension-httpfs=={DUCKDB_HTTPFS}"], check=True
        )
    return str(python)


def tool_ready(tool: str) -> str | None:
    """None when the tool can run, else why not (the row is skipped with that line)."""
    if tool not in CLI:
        return None
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    if shutil.which(CLI[tool], path=path):
        return None
    if tool in DEBIAN:
        try:
            need(CLI[tool], DEBIAN[tool])
            return None
        except (subprocess.CalledProcessError, SystemExit, OSError) as e:
            return f"{tool} is not installed and apt-get could not install it ({e})"
    return f"{CLI[tool]} is not on PATH (`make bench` installs it)"


def check(task: str, dst: str, rows: int, digest: str, env: dict[str, str]) -> tuple[str | None, float | None]:
    """Why the output is wrong (None if right), and its size in MB when it is an object."""
    if task in PARQUET:
        out = subprocess.run([sys.executable, str(HERE / "check.py"), "parquet", dst], env={**os.environ, **env}, capture_output=True, text=True)
        if out.returncode != 0:
            return f"not readable by pyarrow: {(out.stderr.strip().splitlines() or ['?'])[-1]}", None
        got = json.loads(out.stdout)
        if got["rows"] != rows or got["codecs"] != ["ZSTD"]:
            return f"{got['rows']:,} rows (want {rows:,}), codecs {got['codecs']}", got["bytes"] / 1e6
        return None, got["bytes"] / 1e6
    if task in B8:
        got = subprocess.run([sys.executable, str(HERE / "check.py"), "sha256", dst], capture_output=True, text=True)
        if got.stdout.strip() != digest:
            return f"decompresses to sha256 {got.stdout.strip()[:12]}… not the CSV's {digest[:12]}… {got.stderr[-200:]}", None
    return None, None


def size_line(sizes: dict[str, int]) -> str:
    """Each tool's compressed size, and pravah's against the smallest peer's."""
    line = ", ".join(f"{tool} {n:,} B" for tool, n in sizes.items())
    peers = [n for tool, n in sizes.items() if tool != "pravah"]
    if "pravah" in sizes and peers:
        line += f" (pravah {sizes['pravah'] / min(peers) - 1:+.1%})"
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--log-lines", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tasks", help="names or groups, comma-separated (default: all; b12 only if MinIO answers)")
    ap.add_argument("--big-gb", type=float, default=5.0)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    a = ap.parse_args()
    s3 = s3_env()
    if a.tasks:
        tasks = [t for name in a.tasks.split(",") for t in GROUPS.get(name, [name])]
        if unknown := [t for t in tasks if t not in TASKS]:
            sys.exit(f"unknown task {', '.join(unknown)}: choose from {', '.join([*TASKS, *GROUPS])}")
        if "b12" in tasks and not s3:
            sys.exit("b12 needs the stack's MinIO: start it with `make stack` (scripts/stack.py up)")
    else:
        tasks = [t for t in TASKS if t != "b12" or s3]
    a.data.mkdir(parents=True, exist_ok=True)
    files = {
        "sales.csv": lambda p: write_sales_csv(p, a.rows),
        "sales.jsonl": lambda p: write_sales_jsonl(p, a.rows),
        "app.log": lambda p: write_log(p, a.log_lines),
    }
    stamp = a.data / f"rows-{a.rows}-{a.log_lines}"
    if not stamp.exists():
        for name, make in files.items():
            print(f"generating {name} …", file=sys.stderr)
            make(a.data / name)
        stamp.touch()
    csv = a.data / "sales.csv"
    for packed in ("sales.csv.gz", "sales.csv.zst"):
        dst = a.data / packed
        if any(TASKS[t][1] == packed for t in tasks) and (not dst.exists() or dst.stat().st_mtime < csv.stat().st_mtime):
            print(f"generating {packed} …", file=sys.stderr)
            write_compressed(csv, dst)
    for big, small in BIG.items():
        want = int(a.big_gb * 1e9)
        if any(TASKS[t][1] == big for t in tasks) and (not (a.data / big).exists() or abs((a.data / big).stat().st_size - want) > 0.01 * want):
            print(f"generating {big} ({a.big_gb} GB) …", file=sys.stderr)
            repeat_to(a.data / small, a.data / big, want, header=small.endswith(".csv"))
    digest = ""
    if any(t in B8 for t in tasks):
        digest = subprocess.run([sys.executable, str(HERE / "check.py"), "sha256", str(csv)], check=True, capture_output=True, text=True).stdout.strip()
    if "b12" in tasks:
        subprocess.run([sys.executable, str(HERE / "check.py"), "stage", str(csv), f"s3://{BUCKET}/sales.csv"], env={**os.environ, **s3}, check=True)
    tmp = a.data / "out"
    tmp.mkdir(exist_ok=True)
    command = f"python bench/run.py --rows {a.rows} --log-lines {a.log_lines} --runs {a.runs} --big-gb {a.big_gb}"
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {date.today()}; "
        f"2 threads for every tool, warm cache, median of {a.runs} runs taken in turns (each round runs every tool once).",
        f"Command: `{command}{f' --tasks {a.tasks}' if a.tasks else ''}`",
        "B11 rows: one run per tool, no warm-up run (the input is streamed once; peak RSS is the figure); the input is read through just before each tool's run, so each starts from the same page cache.",
        "",
        "| task | tool | input MB | median s | MB/s | rows/s | peak RSS MB | output MB | vs fastest peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    cpu_share: dict[str, list[str]] = {}
    sizes: dict[str, dict[str, int]] = {}
    for task in tasks:
        title, name, tools = TASKS[task]
        src = a.data / name
        mb = src.stat().st_size / 1e6
        # A compressed input is counted in what comes out of it (the CSV), as zstd's and gzip's own
        # figures are: then b3's MB/s compares with b1's.
        basis = csv.stat().st_size / 1e6 if name.endswith((".gz", ".zst")) else mb
        rows = rows_of(csv if task in PARQUET | set(B8) else src)
        # Each tool's setup first; then the runs go round the tools (one run of each, N times), so a
        # slow spell of this shared machine falls on every tool alike, not on whichever ran then.
        ready = {}
        for tool in tools:
            if why := tool_ready(tool):
                notes.append(f"{task} {tool}: skipped, {why}.")
                print(f"{task} {tool}: skipped, {why}", file=sys.stderr)
                continue
            python, env = sys.executable, None
            source, dst = str(src), str(tmp / f"{task}-{tool}.out")
            if task == "b12":
                source, dst, env = f"s3://{BUCKET}/sales.csv", f"s3://{BUCKET}/out-{tool}.parquet", s3
                if tool == "duckdb":
                    try:
                        python = httpfs_python()
                    except (subprocess.CalledProcessError, OSError) as e:
                        notes.append(f"b12 duckdb: skipped, duckdb {DUCKDB_HTTPFS} + duckdb-extension-httpfs could not be installed ({e}).")
                        continue
            ready[tool] = (source, dst, python, env)
        big = task.startswith("b11")
        if not big:
            for tool, (source, dst, python, env) in ready.items():
                measure(tool, task, source, dst, python, env)  # warm-up: page cache and imports
        runs: dict[str, list[tuple[float, float, float]]] = {tool: [] for tool in ready}
        for _ in range(1 if big else a.runs):
            for tool, (source, dst, python, env) in ready.items():
                if big:
                    read_through(Path(source))
                runs[tool].append(measure(tool, task, source, dst, python, env))
        results = {}
        for tool, (source, dst, python, env) in ready.items():
            wall = statistics.median(r[0] for r in runs[tool])
            rss = max(r[1] for r in runs[tool])
            cpu = statistics.median(r[2] for r in runs[tool])
            wrong, out_mb = check(task, dst, a.rows, digest, s3 or {})
            if out_mb is None:
                out_mb = Path(dst).stat().st_size / 1e6
            if wrong:
                notes.append(f"✗ {task} {tool}: wrong output, {wrong}.")
            results[tool] = (wall, rss, out_mb, wrong)
            if task.startswith("b3") or task == "b12":
                cpu_share.setdefault(task, []).append(f"{tool} {cpu / wall:.2f}")
            if task in B8 and B8[task][1] is not None:
                sizes.setdefault(task, {})[tool] = Path(dst).stat().st_size
            print(f"{task} {tool}: {wall:.2f}s{' WRONG OUTPUT' if wrong else ''}", file=sys.stderr)
        peers = [w for t, (w, _, _, bad) in results.items() if not t.startswith("pravah") and not bad]
        best = min(peers) if peers else None
        for tool, (wall, rss, out_mb, wrong) in results.items():
            ratio = "✗ output" if wrong else f"{best / wall:.2f}×" if best and tool.startswith("pravah") else ""
            lines.append(f"| {task} {title} | {tool} | {mb:.0f} | {wall:.2f} | {basis / wall:.0f} | {rows / wall:,.0f} | {rss:.0f} | {out_mb:.1f} | {ratio} |")
    if PARQUET & set(tasks):
        notes.append(
            "Parquet pages: each tool's default zstd level. Pravah's is 1, as pyarrow's; duckdb, polars and "
            "datafusion write level 3. The b1 row pravah-zstd3 is Pravah told `level: 3`, in the same rounds."
        )
    if any(TASKS[t][1].endswith((".gz", ".zst")) for t in tasks):
        notes.append("b3 and b8 decompression rows: input MB is the compressed file, MB/s counts the CSV inside it.")
    if any(t.startswith("b3") for t in tasks):
        notes.append(
            "b3: each tool decompresses the file itself: pravah and polars by its magic bytes, duckdb by "
            "its extension, datafusion told `file_compression_type` (without it the compressed bytes are "
            "parsed as CSV and fail), pyarrow through `pa.CompressedInputStream`. One gzip member or zstd "
            "frame decompresses on one thread in every tool; CPU ÷ wall shows what runs beside it: "
            + "; ".join(f"{t} {', '.join(v)}" for t, v in cpu_share.items() if t.startswith("b3"))
            + "."
        )
    if any(t in B8 for t in tasks):
        notes.append(
            "b8: every output decompresses to the sales CSV's sha256 (checked). Pravah compresses on both "
            "cores (gzip in 1 MiB blocks as pigz does, zlib-rs; libzstd's workers), gzip on one; pigz uses "
            "`-p 2`, zstd `-T2`. Decoding is one thread in every tool; Pravah writes the output on a second thread "
            "while the next buffer decodes, and a third hashes it (its sha256 for the report). "
            "Same level is not the same ratio (zlib-rs, like zlib-ng, trades ratio for speed at level 1): "
            "compressed sizes " + "; ".join(f"{t} {size_line(v)}" for t, v in sizes.items()) + "."
        )
    if "b12" in tasks:
        notes.append(
            f"b12: MinIO on loopback, path-style, plain HTTP; duckdb {DUCKDB_HTTPFS} with PyPI's "
            f"duckdb-extension-httpfs {DUCKDB_HTTPFS} in a side virtualenv (PyPI has no httpfs for the "
            "project's duckdb 2.x; duckdb's own extension repository is out of reach here). CPU ÷ wall: " + ", ".join(cpu_share.get("b12", [])) + "."
        )
    table = "\n".join(lines + ([""] + notes if notes else []))
    print(table)
    a.out.write_text("# Benchmark results\n\n" + table + "\n")


if __name__ == "__main__":
    main()
