"""The polluted-file corpus (corpus/X.csv with its expectation corpus/X.json, written by
make_corpus.py): each file goes CSV -> Parquet through the engine with its read_csv options and is
read back by pyarrow, duckdb and polars, whose cells, in one canonical text form, must be the
expected ones; its rejects file must hold exactly the expected bad rows (physical line, byte
offset, raw text, reason). Then round trips CSV -> CSV and CSV -> JSON lines, the bad-row policies
and limits, and the column types each reader sees.

Canonical cells (the same rule for every reader, see README.md): None stays None; bool is
"true"/"false"; int is its decimal digits; float is Python's repr (shortest round-trip: "2.0",
"0.1", "1e+16"); a date is ISO (2024-01-31); a timestamp is ISO 8601 with "T", the fraction
without trailing zeros and none when zero, and "+00:00" after it when it carries a time zone
(converted to UTC first); a string is itself."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as pat
import pytest

from pravah import engine

from . import make_corpus

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p.stem for p in CORPUS.glob("*.csv"))


def expected(case: str) -> dict:
    return json.loads((CORPUS / f"{case}.json").read_text(encoding="utf-8"))


def read_step(case: str, **extra) -> dict:
    return {"op": "read_csv", **expected(case)["options"], **extra}


# -- canonical cells and types ------------------------------------------------------------------

def _iso(v: dt.datetime) -> str:
    s = v.isoformat()
    return s.rstrip("0").rstrip(".") if "." in s else s


def canon(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return _iso(v.astimezone(dt.timezone.utc).replace(tzinfo=None)) + "+00:00"
        return _iso(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return v
    raise TypeError(f"no canonical form for {type(v).__name__} {v!r}")


def arrow_type(t: pa.DataType) -> str:
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return "string"
    if pat.is_timestamp(t) and t.unit == "us" and t.tz in (None, "UTC", "+00:00"):
        return "timestamp" if t.tz is None else "timestamptz"
    simple = {pa.int64(): "int64", pa.float64(): "float64", pa.bool_(): "bool", pa.date32(): "date"}
    return simple.get(t, str(t))


DUCK_TYPES = {"BIGINT": "int64", "DOUBLE": "float64", "BOOLEAN": "bool", "DATE": "date", "TIMESTAMP": "timestamp",
              "TIMESTAMP WITH TIME ZONE": "timestamptz", "VARCHAR": "string"}


def polars_type(t) -> str:
    if isinstance(t, pl.Datetime) and t.time_unit == "us" and t.time_zone in (None, "UTC", "+00:00"):
        return "timestamp" if t.time_zone is None else "timestamptz"
    for pt, name in ((pl.Int64, "int64"), (pl.Float64, "float64"), (pl.Boolean, "bool"), (pl.Date, "date"), (pl.String, "string")):
        if t == pt:
            return name
    return str(t)


def read_pyarrow(path: Path) -> tuple[list[str], list[list], dict[str, str]]:
    t = pq.read_table(path)
    cols = [c.to_pylist() for c in t.columns]
    rows = [[canon(v) for v in row] for row in zip(*cols)] if cols else []
    return t.column_names, rows, {f.name: arrow_type(f.type) for f in t.schema}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_duckdb(path: Path) -> tuple[list[str], list[list], dict[str, str]]:
    con = duckdb.connect()
    try:
        desc = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
        names, types = [d[0] for d in desc], [d[1] for d in desc]
        tz = [t == "TIMESTAMP WITH TIME ZONE" for t in types]
        # instants are fetched as UTC wall time (duckdb needs pytz to hand out aware datetimes)
        cols = ", ".join(f"timezone('UTC', {_q(n)})" if z else _q(n) for n, z in zip(names, tz))
        raw = con.execute(f"select {cols} from read_parquet(?)", [str(path)]).fetchall()
    finally:
        con.close()
    rows = [[canon(v.replace(tzinfo=dt.timezone.utc) if z and v is not None else v) for v, z in zip(row, tz)] for row in raw]
    return names, rows, {n: DUCK_TYPES.get(t, t) for n, t in zip(names, types)}


def read_polars(path: Path) -> tuple[list[str], list[list], dict[str, str]]:
    df = pl.read_parquet(path)
    return df.columns, [[canon(v) for v in row] for row in df.rows()], {n: polars_type(t) for n, t in df.schema.items()}


READERS = {"pyarrow": read_pyarrow, "duckdb": read_duckdb, "polars": read_polars}


# -- engine runs, once per case -----------------------------------------------------------------

@pytest.fixture(scope="module")
def parquet_runs(tmp_path_factory):
    done: dict[str, tuple[engine.Report, Path]] = {}

    def get(case: str) -> tuple[engine.Report, Path]:
        if case not in done:
            out = tmp_path_factory.mktemp(case) / "out.parquet"
            report = engine.run([read_step(case), {"op": "write_parquet"}], str(CORPUS / f"{case}.csv"), str(out))
            done[case] = (report, out)
        return done[case]

    return get


def rejects_of(out: Path) -> list[dict]:
    path = Path(f"{out}.rejects.jsonl")
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line.strip()]


def check_rejects(got: list[dict], want: list[dict]) -> None:
    assert [(g.get("line"), g.get("raw")) for g in got] == [(w["line"], w["raw"]) for w in want]
    for g, w in zip(got, want):
        assert g["byte_offset"] == w["byte_offset"], (g, w)
        for fragment in w["reason_contains"]:
            assert fragment.lower() in g["reason"].lower(), (g, fragment)


def _norm_encoding(label: str) -> str:
    return label.lower().replace("-", "").replace("_", "")


def check_dialect(got: dict, want: dict) -> None:
    for key, value in want.items():
        assert key in got, (key, got)
        if key == "encoding":
            allowed = value if isinstance(value, list) else [value]
            assert _norm_encoding(got[key]) in {_norm_encoding(a) for a in allowed}, (got[key], allowed)
        else:
            assert got[key] == value, (key, got[key], value)


# -- the corpus ---------------------------------------------------------------------------------

def test_corpus_is_what_make_corpus_writes():
    """The committed files are byte for byte what make_corpus.py writes (its own checks included:
    each reject's raw text starts its physical line, byte offsets computed from the bytes)."""
    files = make_corpus.render()
    assert sorted(files) == sorted(p.name for p in CORPUS.iterdir())
    for name, data in files.items():
        assert (CORPUS / name).read_bytes() == data, f"{name} is stale: run tests/realworld/make_corpus.py"


REFERENCE_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us"),
                   "timestamptz": pa.timestamp("us", "UTC"), "string": pa.string()}


def test_expected_cells_are_canonical_for_every_reader(tmp_path):
    """Without the engine: each expectation, typed by pyarrow's own casts and written to Parquet,
    reads back through all three readers as exactly the expected cells and types, so the
    canonical form and the readers' adapters agree and every hand-written cell is canonical."""
    for case in CASES:
        want = expected(case)
        types = want.get("types") or dict.fromkeys(want["header"], "string")
        cols = [pa.array([row[i] for row in want["rows"]], pa.string()).cast(REFERENCE_TYPES[types[h]]) for i, h in enumerate(want["header"])]
        path = tmp_path / f"{case}.parquet"
        pq.write_table(pa.Table.from_arrays(cols, names=want["header"]), path)
        for name, read in READERS.items():
            assert read(path) == (want["header"], want["rows"], types), (case, name)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case", CASES)
def test_cells_read_back(parquet_runs, case, reader):
    want = expected(case)
    _, out = parquet_runs(case)
    header, rows, types = READERS[reader](out)
    assert header == want["header"]
    assert rows == want["rows"]
    if "types" in want:
        assert types == want["types"]


@pytest.mark.parametrize("case", CASES)
def test_report_and_rejects(parquet_runs, case):
    want = expected(case)
    report, out = parquet_runs(case)
    assert report.rows_in == len(want["rows"])
    assert report.rows_out == len(want["rows"])
    assert report.rows_rejected == len(want["rejects"])
    path = Path(f"{out}.rejects.jsonl")
    if not want["rejects"]:
        assert report.rejects is None
        assert not path.exists()
    else:
        data = path.read_bytes()
        assert report.rejects is not None
        assert report.rejects.uri.endswith("out.parquet.rejects.jsonl")
        assert (report.rejects.size, report.rejects.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        check_rejects(rejects_of(out), want["rejects"])
    check_dialect(report.dialect, want.get("dialect", {}))
    assert set(report.dialect) >= {"delimiter", "quote", "escape", "header", "encoding"}


# -- round trips --------------------------------------------------------------------------------

# cases whose columns are int64/string only, so the CSV text of a cell is its canonical form
CSV_TEXT_CASES = ["backslash_escape", "crlf", "extra_delimiter", "header_names", "header_only", "latin1_declared", "null_markers",
                  "quoted_newlines", "utf16le_bom"]


@pytest.mark.parametrize("case", CSV_TEXT_CASES + ["decimal_comma", "types", "windows1252_auto"])
def test_csv_to_csv_round_trip(tmp_path, case):
    want = expected(case)
    out = tmp_path / "out.csv"
    report = engine.run([read_step(case), {"op": "write_csv"}], str(CORPUS / f"{case}.csv"), str(out))
    assert report.rows_rejected == len(want["rejects"])
    if want["rejects"]:
        check_rejects(rejects_of(out), want["rejects"])
    else:
        assert not Path(f"{out}.rejects.jsonl").exists()
    if case in CSV_TEXT_CASES:  # the written text itself, through Python's csv module (null and "" both read as "")
        table = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
        assert table[0] == want["header"]
        assert table[1:] == [["" if c is None else c for c in row] for row in want["rows"]]
    # and the engine reads its own output back to the same cells and types
    back = tmp_path / "back.parquet"
    engine.run([{"op": "read_csv"}, {"op": "write_parquet"}], str(out), str(back))
    header, rows, types = read_pyarrow(back)
    assert (header, rows) == (want["header"], want["rows"])
    if "types" in want:
        assert types == want["types"]


@pytest.mark.parametrize("explicit", [True, False])
@pytest.mark.parametrize("case", ["empty_trailing_fields", "null_markers", "quoted_newlines", "header_names"])
def test_csv_to_jsonl(tmp_path, case, explicit):
    want = expected(case)
    out = tmp_path / "out.jsonl"
    write = {"op": "write_jsonl"} if explicit else {"op": "write_jsonl", "explicit_nulls": False}
    engine.run([read_step(case), write], str(CORPUS / f"{case}.csv"), str(out))
    objs = [json.loads(line) for line in out.read_bytes().split(b"\n") if line.strip()]
    assert len(objs) == len(want["rows"])
    for obj, row in zip(objs, want["rows"]):
        if explicit:  # every column, nulls written as null, in header order
            assert list(obj) == want["header"]
            assert [canon(v) for v in obj.values()] == row
        else:
            assert {k: canon(v) for k, v in obj.items()} == {k: c for k, c in zip(want["header"], row) if c is not None}


# -- bad-row policies and limits ----------------------------------------------------------------

def test_on_bad_rows_fail_names_the_first_bad_line(tmp_path):
    out = tmp_path / "out.parquet"
    with pytest.raises(engine.InputFormatError) as e:
        engine.run([read_step("extra_delimiter", on_bad_rows="fail"), {"op": "write_parquet"}], str(CORPUS / "extra_delimiter.csv"), str(out))
    assert "line 4" in str(e.value)
    assert not out.exists()
    assert not Path(f"{out}.rejects.jsonl").exists()


def test_on_bad_rows_fail_counts_physical_lines_after_quoted_newlines(tmp_path):
    with pytest.raises(engine.InputFormatError) as e:
        engine.run([read_step("quoted_newlines", on_bad_rows="fail"), {"op": "write_parquet"}], str(CORPUS / "quoted_newlines.csv"),
                   str(tmp_path / "out.parquet"))
    assert "line 8" in str(e.value)


def test_on_bad_rows_skip_counts_without_a_rejects_file(tmp_path):
    want = expected("extra_delimiter")
    out = tmp_path / "out.parquet"
    report = engine.run([read_step("extra_delimiter", on_bad_rows="skip"), {"op": "write_parquet"}], str(CORPUS / "extra_delimiter.csv"), str(out))
    assert report.rows_rejected == 2 and report.rejects is None
    assert not Path(f"{out}.rejects.jsonl").exists()
    assert read_pyarrow(out)[1] == want["rows"]


def test_quarantine_is_the_default(tmp_path):
    out = tmp_path / "out.parquet"
    report = engine.run([{"op": "read_csv"}, {"op": "write_parquet"}], str(CORPUS / "extra_delimiter.csv"), str(out))
    assert report.rows_rejected == 2 and report.rejects is not None
    assert [r["line"] for r in rejects_of(out)] == [4, 7]


def test_max_bad_rows_count(tmp_path):
    src, out = str(CORPUS / "extra_delimiter.csv"), tmp_path / "out.parquet"  # 2 bad rows
    report = engine.run([read_step("extra_delimiter", max_bad_rows=2), {"op": "write_parquet"}], src, str(out))
    assert report.rows_rejected == 2  # at the limit is allowed; past it is not
    out.unlink()
    with pytest.raises(engine.LimitError) as e:
        engine.run([read_step("extra_delimiter", max_bad_rows=1), {"op": "write_parquet"}], src, str(out))
    assert "1" in str(e.value) or "2" in str(e.value)
    assert not out.exists()


TEN_ROWS_THREE_BAD = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(7)) + b"7\n8,x,y\n9\n"


@pytest.mark.parametrize("limit,fails", [(0.2, True), (0.5, False), ("5%", True), ("50%", False), (0.99, False)])
def test_max_bad_rows_fraction(tmp_path, limit, fails):
    # 3 bad of 10 data rows: 30 % of all rows, 43 % of the good ones: the verdicts hold either way
    src, out = tmp_path / "in.csv", tmp_path / "out.parquet"
    src.write_bytes(TEN_ROWS_THREE_BAD)
    steps = [{"op": "read_csv", "max_bad_rows": limit}, {"op": "write_parquet"}]
    if fails:
        with pytest.raises(engine.LimitError):
            engine.run(steps, str(src), str(out))
        assert not out.exists()
    else:
        report = engine.run(steps, str(src), str(out))
        assert (report.rows_in, report.rows_rejected) == (7, 3)
        assert [r["line"] for r in rejects_of(out)] == [9, 10, 11]


def test_default_limit_fails_a_file_that_is_mostly_bad(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.parquet"
    src.write_bytes(b"a,b\n1,x\n2,x\n3\n4\n5\n6\n7\n")
    with pytest.raises(engine.LimitError) as e:
        engine.run([{"op": "read_csv"}, {"op": "write_parquet"}], str(src), str(out))
    assert "bad" in str(e.value).lower() or "reject" in str(e.value).lower()
    assert not out.exists()


def test_file_uris_work_and_rejects_sit_beside_the_output(tmp_path):
    out = tmp_path / "out.parquet"
    report = engine.run([{"op": "read_csv"}, {"op": "write_parquet"}], (CORPUS / "missing_delimiter.csv").as_uri(), out.as_uri())
    assert report.rows_rejected == 2
    assert Path(f"{out}.rejects.jsonl").exists()
    check_rejects(rejects_of(out), expected("missing_delimiter")["rejects"])


# -- types every reader can trust ---------------------------------------------------------------

@pytest.mark.parametrize("case", ["types", "header_only"])
def test_all_readers_agree_on_types(parquet_runs, case):
    _, out = parquet_runs(case)
    seen = {name: read(out)[2] for name, read in READERS.items()}
    assert seen["pyarrow"] == seen["duckdb"] == seen["polars"] == expected(case)["types"]
    # and the Parquet file itself says so (logical types, not plain integers)
    schema = pq.ParquetFile(out).schema
    logical = {schema.column(i).name: str(schema.column(i).logical_type) for i in range(len(schema))}
    if case == "types":
        assert logical["ts"].startswith("Timestamp(isAdjustedToUTC=false, timeUnit=microseconds")
        assert logical["tstz"].startswith("Timestamp(isAdjustedToUTC=true, timeUnit=microseconds")
        assert logical["d"] == "Date"
        assert logical["s"] == "String"
    else:
        assert set(logical.values()) == {"String"}


def test_inspect_prints_dialect_schema_and_rows():
    from typer.testing import CliRunner

    from pravah.cli import app

    r = CliRunner().invoke(app, ["inspect", str(CORPUS / "semicolon_auto.csv")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    for fragment in ("id", "amount", "int64", "Smith, John"):
        assert fragment in r.output
