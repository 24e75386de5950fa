"""`pravah scan` on local trees, checked against os.walk; the size and age flags, table-driven."""

from __future__ import annotations

import fnmatch
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pravah import engine
from pravah.cli import app
from pravah.cli.scan import parse_age, parse_size

PRAVAH = Path(sys.executable).parent / "pravah"
EXTS = [".csv", ".json", ".CSV", ".parquet", "", ".tar.gz"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~2,000 files of assorted sizes, ages and extensions under nested folders, a symlink loop and a dangling link."""
    root = tmp_path_factory.mktemp("tree")
    rnd = random.Random(11)
    now = time.time()
    for i in range(2000):
        depth = rnd.randint(0, 4)
        folder = root.joinpath(*[f"d{rnd.randint(0, 5)}" for _ in range(depth)])
        folder.mkdir(parents=True, exist_ok=True)
        f = folder / f"f{i}{rnd.choice(EXTS)}"
        f.write_bytes(b"x" * rnd.choice([0, 1, 99, 100, 101, 5000]))
        age = rnd.choice([0, 2, 10, 40]) * 86400
        os.utime(f, (now - age, now - age))
    (root / "d0").mkdir(exist_ok=True)
    (root / "d0" / "loop").symlink_to(root)
    (root / "dangling.csv").symlink_to(root / "nowhere")
    (root / "empty" / "deeper").mkdir(parents=True)
    return root


def walked(root: Path) -> dict[str, os.stat_result]:
    """Regular files below root as os.walk sees them without following links: relative path → lstat."""
    files = {}
    for folder, _, names in os.walk(root):
        for n in names:
            p = Path(folder) / n
            st = p.lstat()
            if not p.is_symlink():
                files[p.relative_to(root).as_posix()] = st
    return files


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_file_once_with_size_and_time(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    s = engine.scan(str(tree), output=str(out), threads=3)
    want = walked(tree)
    got = {str(Path(e["path"]).relative_to(tree)): e for e in lines(out)}
    assert got.keys() == want.keys()
    assert s.files == len(want) and s.skipped == 0 and s.errors == 0
    assert s.bytes == sum(st.st_size for st in want.values())
    assert s.symlinks == 2
    for rel, e in got.items():
        assert e["size"] == want[rel].st_size
        assert abs(datetime.fromisoformat(e["modified"]).timestamp() - want[rel].st_mtime) < 0.002, rel


def test_directories_and_extensions_match_os_walk(tree: Path) -> None:
    s = engine.scan(str(tree))
    dirs = sum(len([d for d in ds if not (Path(f) / d).is_symlink()]) for f, ds, _ in os.walk(tree))
    assert s.dirs == dirs
    by: dict[str, list[int]] = {}
    for rel, st in walked(tree).items():
        name = rel.rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        key = ext.lower() if dot and stem else "(none)"
        by.setdefault(key, [0, 0])
        by[key][0] += 1
        by[key][1] += st.st_size
    assert {e["extension"]: [e["files"], e["bytes"]] for e in s.by_extension} == by
    assert [e["bytes"] for e in s.by_extension] == sorted((e["bytes"] for e in s.by_extension), reverse=True)


@pytest.mark.parametrize(("globs", "keep"), [
    (["**/*.csv"], lambda rel: rel.endswith(".csv")),
    (["*.csv", "*.json"], lambda rel: rel.endswith((".csv", ".json"))),
    (["d1/**"], lambda rel: rel.startswith("d1/")),
    (["d1/*"], lambda rel: rel.startswith("d1/") and rel.count("/") == 1),
    (["**/f1?.*"], lambda rel: fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], "f1?.*")),
    (["*.{parquet,gz}"], lambda rel: rel.endswith((".parquet", ".gz"))),
])
def test_globs(tree: Path, globs: list[str], keep) -> None:
    want = [rel for rel in walked(tree) if keep(rel)]
    s = engine.scan(str(tree), globs=globs)
    assert want and s.files == len(want)


def test_size_and_age_filters(tree: Path) -> None:
    files = walked(tree)
    now = datetime.now(UTC)
    week = now - timedelta(days=7)
    s = engine.scan(str(tree), min_size=100, max_size=5000, modified_before=week)
    want = [st for st in files.values() if 100 <= st.st_size <= 5000 and st.st_mtime < week.timestamp()]
    assert want and s.files == len(want)
    assert s.files + s.skipped == len(files)
    s = engine.scan(str(tree), modified_after=week)
    assert s.files == sum(st.st_mtime >= week.timestamp() for st in files.values())


def test_names_only_counts_what_os_walk_sees(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "names.jsonl"
    s = engine.scan(str(tree), names_only=True, output=str(out))
    want = walked(tree)
    assert not s.sized and s.bytes == 0
    assert s.files == len(want)
    assert {str(Path(e["path"]).relative_to(tree)) for e in lines(out)} == want.keys()
    assert all(e.keys() == {"path"} for e in lines(out))


def test_unreadable_directory_is_reported_not_fatal(tmp_path: Path) -> None:
    """A folder the walk cannot open — here one deeper than PATH_MAX, which no user may open by
    path (a chmod 000 folder would not do: the suite runs as root too) — is counted with its path
    and reason; the walk goes on."""
    (tmp_path / "ok.csv").write_text("a\n")
    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(20):  # 20 × 251 bytes > 4096
        os.mkdir("d" * 250, dir_fd=fd)
        inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    s = engine.scan(str(tmp_path))
    assert (s.files, s.errors) == (1, 1)
    assert s.error_samples[0]["path"].startswith(str(tmp_path / ("d" * 250)))


def test_missing_root_and_bad_glob_raise() -> None:
    with pytest.raises(engine.NotFoundError) as e:
        engine.scan("/no/such/folder")
    assert e.value.uri == "/no/such/folder"
    with pytest.raises(engine.OptionError) as o:
        engine.scan("/tmp", globs=["*.{csv"])
    assert (o.value.option, o.value.value) == ("--glob", "*.{csv")


HANGING = """
import signal, socket, time
from pravah import engine

def stop(*_):
    raise KeyboardInterrupt

server = socket.create_server(("127.0.0.1", 0))  # connections queue up; nothing ever answers
signal.signal(signal.SIGALRM, stop)
signal.setitimer(signal.ITIMER_REAL, 0.5)
started = time.monotonic()
try:
    engine.scan("s3://b/x", storage_options={"endpoint": f"http://127.0.0.1:{server.getsockname()[1]}", "allow_http": "true",
                                             "access_key_id": "k", "secret_access_key": "s", "region": "us-east-1"})
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - started:.1f} s")
"""


def test_a_signal_cancels_a_scan_in_flight() -> None:
    """Ctrl-C reaches a scan whose listing hangs (the GIL is released; the engine is cancelled)."""
    r = subprocess.run([sys.executable, "-c", HANGING], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    seconds = float(r.stdout.split()[2])
    assert 0.4 < seconds < 5, r.stdout


@pytest.mark.parametrize(("text", "size"), [
    ("0", 0), ("4096", 4096), ("100MB", 100_000_000), ("100mb", 100_000_000), ("1.5GiB", 1.5 * 2**30),
    ("10k", 10_000), ("10KiB", 10_240), ("2 TB", 2 * 10**12), ("7B", 7), ("1P", 10**15),
])
def test_parse_size(text: str, size: float) -> None:
    assert parse_size("--min-size", text) == int(size)


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "ago"), [
    ("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("30min", timedelta(minutes=30)), ("30m", timedelta(minutes=30)),
    ("90s", timedelta(seconds=90)), ("2w", timedelta(weeks=2)), ("1.5d", timedelta(hours=36)),
    ("2026-11-01", NOW - datetime(2026, 11, 1, tzinfo=UTC)),
])
def test_parse_age(text: str, ago: timedelta) -> None:
    assert parse_age("--older-than", text, NOW) == NOW - ago


@pytest.mark.parametrize("text", ["100XB", "MB", "-1", "1e3", "ten"])
def test_bad_size_is_refused(text: str) -> None:
    with pytest.raises(typer.Exit):
        parse_size("--min-size", text)


@pytest.mark.parametrize("text", ["7", "7y", "yesterday", "-1d"])
def test_bad_age_is_refused(text: str) -> None:
    with pytest.raises(typer.Exit):
        parse_age("--older-than", text, NOW)


def cli(*args: str) -> subprocess.CompletedProcess:
    """A real process: the engine writes JSON lines to file descriptor 1, which CliRunner does not capture."""
    return subprocess.run([str(PRAVAH), "scan", *args], capture_output=True, text=True, timeout=60)


def test_cli_table_and_json_lines(tree: Path) -> None:
    table = CliRunner().invoke(app, ["scan", str(tree), "--glob", "**/*.csv"])
    assert table.exit_code == 0, table.stderr
    n = sum(rel.endswith(".csv") for rel in walked(tree))
    assert f"{n:,}" in table.stdout and "by extension" in table.stdout
    js = cli(str(tree), "--json", "--glob", "**/*.csv", "--min-size", "100B")
    assert js.returncode == 0, js.stderr
    got = [json.loads(line) for line in js.stdout.splitlines()]
    assert got and all(e["path"].endswith(".csv") and e["size"] >= 100 for e in got)
    assert f"{len(got):,} files" in js.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["/no/such/folder"], "/no/such/folder: does not exist"),
    (["/tmp", "--min-size", "12XB"], '--min-size "12XB": not a size'),
    (["/tmp", "--older-than", "soon"], '--older-than "soon": not an age'),
    (["/tmp", "--glob", "a[b"], '--glob "a[b": a \'[\' is never closed'),
    (["/tmp", "--names-only", "--min-size", "1"], "--names-only \"true\": cannot go with --min-size"),
])
def test_cli_bad_input_is_one_line(args: list[str], message: str) -> None:
    r = CliRunner().invoke(app, ["scan", *args])
    assert r.exit_code == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_headers_of_every_csv_into_one_parquet_table(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    root = tmp_path / "exports"
    for i in range(40):
        (root / f"r{i % 4}").mkdir(parents=True, exist_ok=True)
        sep = ";" if i % 5 == 0 else ","
        (root / f"r{i % 4}" / f"f{i}.csv").write_text(sep.join(["id", f"c{i}", '"x, y"' if sep == "," else "z"]) + "\n1\n")
    (root / "blank.csv").write_text("")
    (root / "readme.txt").write_text("no")
    out = tmp_path / "headers.parquet"
    r = CliRunner().invoke(app, ["scan", str(root), "--glob", "*.csv", "--headers", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "headers: 40 read, 1 unreadable" in r.output
    rows = {Path(p).name: (h, d, e) for p, h, d, e in zip(*pq.read_table(out, columns=["path", "header", "delimiter", "header_error"]).to_pydict().values(), strict=True)}
    assert len(rows) == 41 and "readme.txt" not in rows
    assert rows["f7.csv"] == (["id", "c7", "x, y"], ",", None)
    assert rows["f5.csv"] == (["id", "c5", "z"], ";", None)
    assert rows["blank.csv"] == (None, None, "empty: no header row")
    # Given, the delimiter is not sniffed; it needs --headers; -o is JSON lines or a .parquet table.
    r = CliRunner().invoke(app, ["scan", str(root), "--glob", "f5.csv", "--headers", "--delimiter", ",", "--json", "-o", str(tmp_path / "h.jsonl")])
    assert r.exit_code == 0 and lines(tmp_path / "h.jsonl")[0]["header"] == ["id;c5;z"]
    assert CliRunner().invoke(app, ["scan", str(root), "--delimiter", ";"]).exit_code == 2
    r = CliRunner().invoke(app, ["scan", str(root), "-o", str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and ".parquet" in r.output
