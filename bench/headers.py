"""B10, the header row of many small CSVs: `pravah scan --headers -o headers.parquet` next to a
Python loop (os.walk + csv), polars (read_csv with n_rows=0 per file) and duckdb (read_csv with
LIMIT 0 per file), each discovering the files itself. Every tool's count of files and of header
fields is checked equal before its time is reported; median of --runs after a warm-up, peak RSS
from GNU time, 2 threads for whoever takes a thread count.

    python bench/headers.py [--files 200000] [--peer-files 20000] [--runs 3] [--write bench/results-headers.md]

Trees are generated once under ~/.cache/pravah/bench (1,000 files a folder; a tenth use `;`,
a tenth start with a BOM, some headers quote a field holding the delimiter). The slow peers run
on the smaller tree; their files/s is what they would do on the big one.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import publish  # noqa: E402
from scan import measure  # noqa: E402  (bench/scan.py)

CACHE = Path.home() / ".cache" / "pravah" / "bench"

PRAVAH = """
import json, sys, tempfile, time
import pyarrow.parquet as pq
from pravah import engine
out = tempfile.mktemp(suffix=".parquet")
t = time.perf_counter()
s = engine.scan(sys.argv[1], globs=["*.csv"], headers=True, names_only=True, output=out)
seconds = time.perf_counter() - t
headers = pq.read_table(out, columns=["header"]).column("header").to_pylist()
print(json.dumps({"seconds": seconds, "files": s.headers, "fields": sum(len(h) for h in headers if h)}))
"""

LOOP = """
import csv, json, os, sys, time
t = time.perf_counter()
files = fields = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".csv"):
            with open(os.path.join(folder, name), newline="", encoding="utf-8-sig") as f:
                line = f.readline()
            delim = max(",;\\t|", key=line.count)
            fields += len(next(csv.reader([line], delimiter=delim)))
            files += 1
print(json.dumps({"seconds": time.perf_counter() - t, "files": files, "fields": fields}))
"""

POLARS = """
import json, os, sys, time
import polars as pl
t = time.perf_counter()
files = fields = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".csv"):
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                line = f.readline().decode("utf-8-sig")
            sep = max(",;\\t|", key=line.count)
            fields += len(pl.read_csv(path, n_rows=0, separator=sep).columns)
            files += 1
print(json.dumps({"seconds": time.perf_counter() - t, "files": files, "fields": fields}))
"""

DUCKDB = """
import json, os, sys, time
import duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
t = time.perf_counter()
files = fields = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".csv"):
            path = os.path.join(folder, name).replace("'", "''")
            fields += len(con.execute(f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true) LIMIT 0").description)
            files += 1
print(json.dumps({"seconds": time.perf_counter() - t, "files": files, "fields": fields}))
"""


def tree(files: int) -> Path:
    root = CACHE / f"csv-{files}"
    done = CACHE / f"csv-{files}.done"
    if done.exists():
        return root
    print(f"generating {files:,} CSVs under {root} (once)", file=sys.stderr)
    for i in range(files):
        folder = root / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        cols = [f"col_{j}" for j in range(3 + i % 8)]
        if i % 7 == 0:
            cols[1] = '"amount, eur"'
        sep = ";" if i % 10 == 3 else ","
        if sep == ";":
            cols = [c.replace('"amount, eur"', '"amount; eur"') for c in cols]
        bom = "\ufeff" if i % 10 == 5 else ""
        body = "".join(sep.join(str(i * k + r) for k in range(len(cols))) + "\n" for r in range(3))
        (folder / f"f{i}.csv").write_text(bom + sep.join(cols) + "\n" + body, encoding="utf-8")
    done.touch()
    return root


def bench(name: str, code: str, root: Path, runs: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    cmd = [sys.executable, f.name, str(root)]
    measure(cmd)  # warm-up (page cache, imports)
    results = []
    for _ in range(runs):
        _, rss, out = measure(cmd)
        got = json.loads(out.decode().strip().splitlines()[-1])
        results.append((got["seconds"], rss, got["files"], got["fields"]))
    seconds = statistics.median(r[0] for r in results)
    return {"tool": name, "files": results[0][2], "fields": results[0][3], "seconds": seconds,
            "files_per_s": results[0][2] / seconds, "rss_mb": max(r[1] for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--peer-files", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write")
    a = ap.parse_args()
    rows = []
    for files, tools in ((a.peer_files, [("pravah scan --headers", PRAVAH), ("python os.walk + csv", LOOP), ("polars read_csv n_rows=0", POLARS),
                                          ("duckdb read_csv LIMIT 0", DUCKDB)]),
                         (a.files, [("pravah scan --headers", PRAVAH), ("python os.walk + csv", LOOP)])):
        root = tree(files)
        tree_rows = [bench(name, code, root, a.runs) for name, code in tools]
        expected = (tree_rows[0]["files"], tree_rows[0]["fields"])
        for r in tree_rows:
            if (r["files"], r["fields"]) != expected:
                sys.exit(f"{r['tool']} saw {r['files']} files / {r['fields']} fields, pravah {expected}")
            r["tree"] = files
        best_peer = max(r["files_per_s"] for r in tree_rows[1:])
        for r in tree_rows:
            r["ratio"] = r["files_per_s"] / best_peer
        rows += tree_rows
    lines = [f"# B10: the header row of every CSV in a tree ({date.today()}, {platform.node()}, 2 threads)", "",
             "`python bench/headers.py " + " ".join(sys.argv[1:]) + "`; each tool walks the tree itself; files and header fields checked equal.", "",
             "| tree | tool | files | seconds | files/s | × best peer | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['tree']:,} | {r['tool']} | {r['files']:,} | {r['seconds']:.2f} | {r['files_per_s']:,.0f} | {r['ratio']:.2f} | {r['rss_mb']:.0f} |" for r in rows]
    publish(lines, a.write)


if __name__ == "__main__":
    main()
