"""`pravah run PIPELINE FOLDER/` as a user runs it: a tree of a few hundred small CSVs through the
real engine, outputs where the template says, a broken file failing alone, colliding outputs and
empty folders refused before anything runs; and one file still runs as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

PRAVAH = Path(sys.executable).parent / "pravah"
PIPELINE = """\
pipelines:
  - name: shipped
    steps:
      - read_csv: {{ schema: {{ qty: int64 }}{bad_rows} }}
      - filter: {{ where: "status = 'shipped'" }}
      - derive: {{ column: revenue, expr: "qty * unit_price" }}
      - select: {{ columns: [order_id, qty, revenue] }}
      - write_parquet
    output: {output}
"""
BY_DIR = "outbox/parquet/{dir}/{stem}.parquet"


def sales(seed: int, rows: int = 6) -> str:
    return "order_id,status,qty,unit_price\n" + "".join(
        f"{seed * 100 + i},{'shipped' if i % 2 == 0 else 'pending'},{i % 5 + 1},{seed % 7}.5\n" for i in range(rows))


def shipped(seed: int, rows: int = 6) -> dict[str, list]:
    kept = range(0, rows, 2)
    return {"order_id": [seed * 100 + i for i in kept], "qty": [i % 5 + 1 for i in kept],
            "revenue": [(i % 5 + 1) * (seed % 7 + 0.5) for i in kept]}


def tree(root: Path, regions: tuple[str, ...] = ("eu", "us", "apac"), days: int = 10, per_day: int = 10) -> dict[str, int]:
    """regions × days × files CSVs, the same file names in every folder; {relative path: seed}."""
    seeds = {}
    for r in regions:
        for d in range(days):
            (root / r / f"d{d:02}").mkdir(parents=True)
            for f in range(per_day):
                rel, seed = f"{r}/d{d:02}/f{f}.csv", len(seeds) + 1
                (root / rel).write_text(sales(seed))
                seeds[rel] = seed
    return seeds


def pravah(cwd: Path, *args: str, output: str = BY_DIR, bad_rows: str = "") -> subprocess.CompletedProcess[str]:
    (cwd / "p.yaml").write_text(PIPELINE.format(output=output, bad_rows=bad_rows))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAVAH_")} | {"COLUMNS": "250"}
    return subprocess.run([str(PRAVAH), "run", "shipped", *args, "-p", "p.yaml"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_file_in_a_tree_is_written_where_the_template_says(tmp_path: Path) -> None:
    seeds = tree(tmp_path / "in")
    (tmp_path / "in" / "us" / "d03" / "f4.csv").write_text(sales(seeds["us/d03/f4.csv"]) + "999,shipped,many,1.0\n")
    r = pravah(tmp_path, "in/", "-o", "out/", "-j", "2")
    assert r.returncode == 0, r.stderr
    assert "300 file(s): 300 succeeded, 0 failed" in r.stdout and "rows in 1,800  rows out 900" in r.stdout
    assert "1 bad row(s) set aside in 1 file(s)" in r.stderr and "in/us/d03/f4.csv: 1 →" in r.stderr
    written = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.parquet")}
    assert written == {f"parquet/{rel.removesuffix('.csv')}.parquet" for rel in seeds}
    for rel, seed in seeds.items():
        assert pq.read_table(tmp_path / "out" / "parquet" / rel.replace(".csv", ".parquet")).to_pydict() == shipped(seed), rel


def test_a_broken_file_fails_alone_and_is_named_with_the_engines_error(tmp_path: Path) -> None:
    seeds = tree(tmp_path / "in", regions=("eu",), days=3)
    (tmp_path / "in" / "eu" / "d01" / "f7.csv").write_text("order_id,status,qty,unit_price\n1,shipped,2,1.5\n2,shipped,many,1.0\n")
    r = pravah(tmp_path, "in", "-o", "out", bad_rows=", on_bad_rows: fail")
    assert r.returncode == 1, r.stderr
    assert "30 file(s): 29 succeeded, 1 failed" in r.stdout
    failed = [line for line in r.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and failed[0].startswith("failed: in/eu/d01/f7.csv: InputFormatError:"), r.stderr
    assert 'line 3' in failed[0] and 'column "qty"' in failed[0]
    assert not (tmp_path / "out" / "parquet" / "eu" / "d01" / "f7.parquet").exists()
    for rel, seed in seeds.items():
        if rel != "eu/d01/f7.csv":
            assert pq.read_table(tmp_path / "out" / "parquet" / rel.replace(".csv", ".parquet")).to_pydict() == shipped(seed)


def test_colliding_outputs_are_refused_before_anything_runs(tmp_path: Path) -> None:
    tree(tmp_path / "in", regions=("eu", "us"), days=1, per_day=2)
    r = pravah(tmp_path, "in/", "-o", "out/", output="outbox/parquet/{stem}.parquet")
    assert r.returncode == 2
    assert "error: in/eu/d00/f0.csv and in/us/d00/f0.csv would both write out/parquet/f0.parquet" in r.stderr, r.stderr
    assert "2 output collision(s)" in r.stderr and "{dir}" in r.stderr
    assert not (tmp_path / "out").exists()


def test_glob_narrows_on_the_path_under_the_folder_and_symlinks_are_not_followed(tmp_path: Path) -> None:
    seeds = tree(tmp_path / "in", regions=("eu", "us"), days=2, per_day=3)
    (tmp_path / "in" / "eu" / "notes.txt").write_text("not a csv")
    (tmp_path / "in" / "eu" / "link.csv").symlink_to(tmp_path / "in" / "us" / "d00" / "f0.csv")
    (tmp_path / "in" / "eu" / "linked").symlink_to(tmp_path / "in" / "us", target_is_directory=True)
    r = pravah(tmp_path, "in/", "--glob", "eu/*.csv")
    assert r.returncode == 0, r.stderr
    assert "6 file(s): 6 succeeded" in r.stdout
    written = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.parquet")}  # default -o out/
    assert written == {f"parquet/{rel.removesuffix('.csv')}.parquet" for rel in seeds if rel.startswith("eu/")}


@pytest.mark.parametrize(("args", "says"), [
    (["empty/"], "error: no files under empty/"),
    (["in/", "--glob", "*.parquet"], "error: no files under in/ match --glob '*.parquet'"),
    (["missing/"], "error: no such folder: missing"),
    (["in/eu/d00/f0.csv", "--glob", "*.csv"], "error: --glob goes with a folder"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    tree(tmp_path / "in", regions=("eu",), days=1, per_day=1)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    r = pravah(tmp_path, *args)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_one_file_runs_as_before(tmp_path: Path) -> None:
    tree(tmp_path / "in", regions=("eu",), days=1, per_day=1)
    r = pravah(tmp_path, "in/eu/d00/f0.csv", "-o", "one.parquet")
    assert r.returncode == 0, r.stderr
    assert "in/eu/d00/f0.csv → one.parquet" in r.stdout and "rows in 6  rows out 3" in r.stdout
    assert pq.read_table(tmp_path / "one.parquet").to_pydict() == shipped(1)
