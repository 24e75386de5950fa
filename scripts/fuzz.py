"""Fuzz for a while: the engine's cargo-fuzz targets (CSV reader, expression compiler,
decompressors; libFuzzer, nightly Rust) and the Python properties (event parser, YAML loader;
hypothesis), each for --seconds. New corpus entries go to ~/.cache/pravah/fuzz-corpus; a
crash is copied into engine/fuzz/corpus/<target>/ (replayed by `cargo test`) and fails the run.

    python scripts/fuzz.py [--seconds 600] [--only csv,csv_bad_rows,expression,decompress,events,yaml]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "pravah"
RUST = ["csv", "csv_bad_rows", "expression", "decompress"]
PY = {"events": "event_parser", "yaml": "yaml_loader"}


def rust(target: str, seconds: int) -> tuple[str, int]:
    work = CACHE / "fuzz-corpus" / target
    art = CACHE / "fuzz-artifacts" / target
    work.mkdir(parents=True, exist_ok=True)
    art.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CARGO_TARGET_DIR": str(CACHE / "fuzz-target")}
    cmd = ["cargo", "+nightly", "fuzz", "run", target, "--fuzz-dir", str(ROOT / "engine" / "fuzz"), "-s", "none",
           str(work), str(ROOT / "engine" / "fuzz" / "corpus" / target), "--",
           f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-max_len=65536", "-timeout=10",
           f"-artifact_prefix={art}/"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    stats = [line for line in r.stderr.splitlines() if line.startswith("#") and "DONE" in line or "stat::number_of_executed_units" in line]
    crashes = list(art.glob("*"))
    for c in crashes:
        shutil.copy(c, ROOT / "engine" / "fuzz" / "corpus" / target / f"regression-{c.name}")
    summary = stats[-1] if stats else r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "no output"
    return f"{target}: exit {r.returncode}; {summary}; crashes {len(crashes)}", r.returncode


def python(name: str, seconds: int) -> tuple[str, int]:
    deadline, runs, examples = time.monotonic() + seconds, 0, 0
    env = {**os.environ, "PRAVAH_FUZZ_EXAMPLES": "2000"}
    while time.monotonic() < deadline:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-seed", str(runs * 7919 + int(time.time())),
                            str(ROOT / "tests" / "unit" / "test_fuzz_inputs.py"), "-k", PY[name]], env=env, capture_output=True, text=True)
        runs += 1
        if r.returncode != 0:
            return f"{name}: FAILED after {runs} rounds\n{r.stdout[-3000:]}", 1
        passed = re.search(r"(\d+) passed", r.stdout)
        examples += 2000 * int(passed.group(1)) if passed else 0
    return f"{name}: {runs} rounds, about {examples:,} examples in {seconds} s, no failure", 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--only", default=",".join(RUST + list(PY)))
    a = ap.parse_args()
    failed = 0
    for t in a.only.split(","):
        line, rc = rust(t, a.seconds) if t in RUST else python(t, a.seconds)
        print(line, flush=True)
        failed |= rc != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
