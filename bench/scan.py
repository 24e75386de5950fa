"""B9, directory walk and prefix listing: `pravah scan` next to fd, GNU find and os.scandir on
a cached generated tree, and next to `aws s3 ls --recursive` on a MinIO prefix of the stack.
2 threads for whoever takes a thread count, warm cache, median of --runs after a warm-up;
every tool's entry count is checked equal before its time is reported.

    python bench/scan.py [--files 200000] [--files 2000000] [--objects 100000] [--runs 5]

Trees are generated once under ~/.cache/pravah/bench (100 files a folder, 10 folders a parent);
the objects stay in the stack's bucket `bench-scan` (only missing ones are uploaded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

import stack as services  # noqa: E402  (scripts/stack.py)
from common import PRAVAH, need  # noqa: E402

CACHE = Path.home() / ".cache" / "pravah" / "bench"
BUCKET = "bench-scan"
EXTS = [".csv", ".json", ".log", ".parquet", ".csv.gz"]
THREADS = 2

# In a child process, so each run starts cold in Python and its peak RSS is its own.
ENGINE = """
import json, sys, time
from pravah import engine
root, output, opts = sys.argv[1], sys.argv[2] or None, json.loads(sys.argv[3])
t = time.perf_counter()
s = engine.scan(root, output=output, **opts)
print(json.dumps({"seconds": time.perf_counter() - t, "entries": s.entries, "files": s.files}))
"""

SCANDIR = """
import json, os, sys, time
def walk(path):
    n = 0
    with os.scandir(path) as it:
        for e in it:
            n += 1
            if e.is_dir(follow_symlinks=False):
                n += walk(e.path)
            elif e.is_file(follow_symlinks=False):
                e.stat(follow_symlinks=False)
    return n
t = time.perf_counter()
n = walk(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "entries": n}))
"""


def tree(files: int) -> Path:
    """A tree of `files` small files, generated once: 100 a folder, 10 folders a parent."""
    root = CACHE / f"tree-{files}"
    done = CACHE / f"tree-{files}.done"
    if done.exists():
        return root
    print(f"generating {files:,} files under {root} (once)", file=sys.stderr)
    for i in range(files):
        folder = root / f"p{i // 1000:04d}" / f"d{i // 100 % 10}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"f{i}{EXTS[i % len(EXTS)]}", "wb") as f:
            f.write(b"x" * (i % 7))
    done.touch()
    return root


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, bytes]:
    """(wall seconds, peak RSS MB, tail of stdout) of one process. Peak RSS from GNU time: a
    child's own rusage would count this (larger) process, which it is forked from."""
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.PIPE, stderr=err, env=env)
        out = b""
        assert p.stdout
        # Drain without keeping more than the tail: fd/find/aws print every entry.
        while chunk := p.stdout.read(1 << 20):
            out = (out + chunk)[-4096:]
        status = p.wait()
        wall = time.perf_counter() - t
        err.seek(0)
        rss_kb = err.read().decode(errors="replace").strip().splitlines()[-1]
    if status != 0:
        raise RuntimeError(f"{cmd[0]} exited with {status}")
    return wall, int(rss_kb) / 1024, out


def count_lines(cmd: list[str], env: dict[str, str] | None = None) -> int:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert p.stdout
    n = sum(chunk.count(b"\n") for chunk in iter(lambda: p.stdout.read(1 << 20), b""))
    if p.wait() != 0:
        raise RuntimeError(f"{cmd[0]} failed")
    return n


class Case:
    """One tool and how its entries are counted: `count` is a field of the JSON the child
    prints (its own timing of the call, then), "lines" of its output, or None (whole-process
    time of a command whose count another row checks)."""

    def __init__(self, name: str, what: str, cmd: list[str], count: str | None, env: dict[str, str] | None = None):
        self.name, self.what, self.cmd, self.count, self.env = name, what, cmd, count, env

    def run(self) -> tuple[float, float, int | None]:
        """(seconds, peak RSS MB, entries the child reported, if it reports them)."""
        wall, rss, out = measure(self.cmd, self.env)
        if self.count in (None, "lines"):
            return wall, rss, None
        got = json.loads(out.decode().strip().splitlines()[-1])
        return got["seconds"], rss, got[self.count]

    def entries(self) -> int | None:
        if self.count == "lines":
            return count_lines(self.cmd, self.env)
        return self.run()[2]


def bench(cases: list[Case], runs: int, peer_names: tuple[str, ...]) -> list[dict]:
    rows = []
    for c in cases:
        n = c.entries()
        c.run()  # warm-up
        results = [c.run() for _ in range(runs)]
        secs = statistics.median(r[0] for r in results)
        rows.append({"case": c.name, "what": c.what, "entries": n, "seconds": secs, "rss": max(r[1] for r in results)})
        print(f"  {c.name}: {n} entries, {secs:.3f} s", file=sys.stderr)
    counts = {r["entries"] for r in rows if r["entries"] is not None}
    if len(counts) != 1:
        raise SystemExit("entry counts differ: " + ", ".join(f"{r['case']} {r['entries']}" for r in rows))
    (n,) = counts
    for r in rows:
        r["entries"], r["rate"] = n, n / r["seconds"]
    best_peer = max((r["rate"] for r in rows if r["case"].startswith(peer_names)), default=None)
    for r in rows:
        r["ratio"] = r["rate"] / best_peer if best_peer else None
    return rows


def local_cases(root: Path) -> list[Case]:
    fd = need("fdfind", "fd-find")
    py = sys.executable
    r = str(root)
    return [
        Case("pravah", "engine.scan, summary (stats every file: size, mtime)", [py, "-c", ENGINE, r, "", json.dumps({"threads": THREADS})], "entries"),
        Case("pravah --names-only", "engine.scan without a stat per file (like fd/find)", [py, "-c", ENGINE, r, "", json.dumps({"threads": THREADS, "names_only": True})], "entries"),
        Case("pravah --json", "engine.scan, JSON lines of every file to /dev/null", [py, "-c", ENGINE, r, "/dev/null", json.dumps({"threads": THREADS})], "entries"),
        Case("pravah CLI", "`pravah scan ROOT`, whole process (Python start-up included)", [str(PRAVAH), "scan", r], None),
        Case("fd", f"`fdfind -u --threads {THREADS} . ROOT` (names only)", [fd, "-u", "--threads", str(THREADS), ".", r], "lines"),
        Case("find", "`find ROOT -mindepth 1` (names only)", ["find", r, "-mindepth", "1"], "lines"),
        Case("find -printf", "`find … -printf '%s %T@ %p\\n'` (stats like pravah)", ["find", r, "-mindepth", "1", "-printf", "%s %T@ %p\\n"], "lines"),
        Case("os.scandir", "recursive os.scandir + stat of files, 1 thread", [py, "-c", SCANDIR, r], "entries"),
    ]


def store_options(env: dict[str, str]) -> dict[str, str]:
    """The engine's storage options for the stack's MinIO, made as the worker makes them."""
    from pravah.settings import S3Settings
    from pravah.storage import S3Store

    return S3Store(S3Settings(endpoint=env["PRAVAH_S3__ENDPOINT"], access_key=env["PRAVAH_S3__ACCESS_KEY"],
                              secret_key=env["PRAVAH_S3__SECRET_KEY"])).options


def objects(n: int, env: dict[str, str]) -> str:
    """`n` empty objects under bench-scan/tree/ (100 a prefix, 10 prefixes a parent), uploaded once."""
    from pravah import engine

    opts = store_options(env)
    s3 = services.s3_client()
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    root = f"s3://{BUCKET}/tree-{n}"
    have = engine.scan(root, storage_options=opts).files
    if have != n:
        print(f"uploading {n:,} objects to {root} (once)", file=sys.stderr)
        keys = [f"tree-{n}/p{i // 1000:04d}/d{i // 100 % 10}/f{i}{EXTS[i % len(EXTS)]}" for i in range(n)]
        with ThreadPoolExecutor(16) as pool:
            for _ in pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=b""), keys):
                pass
    return root


def object_cases(root: str, env: dict[str, str]) -> list[Case]:
    aws = Path(sys.executable).parent / "aws"
    if not aws.exists():
        raise SystemExit("aws is missing: `make bench-scan` installs the bench extra (awscli)")
    py = sys.executable
    opts = store_options(env)
    aws_env = {**os.environ, "AWS_ACCESS_KEY_ID": env["PRAVAH_S3__ACCESS_KEY"], "AWS_SECRET_ACCESS_KEY": env["PRAVAH_S3__SECRET_KEY"],
               "AWS_DEFAULT_REGION": "us-east-1"}
    full_env = {**os.environ, **env}
    return [
        Case("pravah", "engine.scan, summary, 8 listings in flight", [py, "-c", ENGINE, root, "", json.dumps({"storage_options": opts})], "files"),
        Case("pravah --json", "engine.scan, JSON lines of every key to /dev/null", [py, "-c", ENGINE, root, "/dev/null", json.dumps({"storage_options": opts})], "files"),
        Case("pravah CLI", "`pravah scan --json s3://…`, whole process", [str(PRAVAH), "scan", "--json", root], "lines", env=full_env),
        Case("aws s3 ls", "`aws s3 ls --recursive s3://…/`, whole process", [str(aws), "s3", "ls", "--recursive", root + "/", "--endpoint-url", env["PRAVAH_S3__ENDPOINT"]],
             "lines", env=aws_env),
    ]


def table(title: str, rows: list[dict]) -> str:
    lines = [f"### {title}", "", "| case | what | entries | median s | entries/s | × best peer | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else ""
        lines.append(f"| {r['case']} | {r['what']} | {r['entries']:,} | {r['seconds']:.3f} | {r['rate']:,.0f} | {ratio} | {r['rss']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, action="append", help="Files in a local tree (repeat for several); default 200000.")
    ap.add_argument("--objects", type=int, default=100_000, help="Objects under the MinIO prefix; 0 skips the object store.")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--write", type=Path, help="Also write the tables to this Markdown file.")
    a = ap.parse_args()
    out = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {date.today()}; "
           f"{THREADS} threads where a tool takes a count, warm cache, median of {a.runs} runs after a warm-up.",
           f"Command: `python bench/scan.py {' '.join(sys.argv[1:])}`", ""]
    for n in a.files or [200_000]:
        root = tree(n)
        print(f"local tree of {n:,} files", file=sys.stderr)
        out += [table(f"Local tree, {n:,} files ({root})", bench(local_cases(root), a.runs, ("fd", "find", "os.scandir"))), ""]
    if a.objects:
        env = services.up() if not services.running() else dict(line.split("=", 1) for line in (services.STATE / "stack.env").read_text().splitlines() if "=" in line)
        root = objects(a.objects, env)
        print(f"object store, {a.objects:,} objects", file=sys.stderr)
        out += [table(f"MinIO on loopback, {a.objects:,} objects ({root})", bench(object_cases(root, env), a.runs, ("aws",))), ""]
    text = "\n".join(out)
    print(text)
    if a.write:
        a.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
