"""The engine through its Python facade, checked against pyarrow and duckdb readings."""

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pravah import engine


def run(tmp_path, steps, data: bytes, name="in.csv", out="out.parquet"):
    src = tmp_path / name
    src.write_bytes(data)
    dst = tmp_path / out
    report = engine.run(steps, str(src), str(dst))
    return report, dst


CSV_TO_PQ = [{"op": "read_csv"}, {"op": "write_parquet"}]

CORPUS = {
    "quoted_newlines": b'id,text\n1,"line one\nline two"\n2,plain\n',
    "embedded_delims_and_quotes": b'id,text\n1,"a, b"\n2,"say ""hi"""\n3,\n',
    "empty_fields": b"a,b,c\n1,,3\n,,\n4,5,\n",
    "unicode": "id,name\n1,Zoë\n2,東京\n3,😀\n".encode(),
    "crlf": b"a,b\r\n1,x\r\n2,y\r\n",
    "bom": b"\xef\xbb\xbfa,b\n1,2\n",
    "no_trailing_newline": b"a,b\n1,2\n3,4",
    "header_only": b"a,b,c\n",
    "wide": (",".join(f"c{i}" for i in range(320)) + "\n" + ",".join(str(i) for i in range(320)) + "\n").encode(),
    "floats_and_ints": b"i,f,s\n1,1.5,x\n2,2.25,y\n-3,1e3,z\n",
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_csv_corpus_matches_pyarrow(tmp_path, case):
    data = CORPUS[case]
    report, out = run(tmp_path, CSV_TO_PQ, data)
    ours = pq.read_table(out)
    theirs = pacsv.read_csv(tmp_path / "in.csv")
    assert ours.column_names == theirs.column_names
    assert ours.num_rows == theirs.num_rows == report.rows_out
    for name in ours.column_names:
        a = [None if v in (None, "") else str(v) for v in ours.column(name).to_pylist()]
        b = [None if v in (None, "") else str(v) for v in theirs.column(name).to_pylist()]
        assert a == b, (case, name)


def test_parquet_is_zstd_with_statistics_readable_by_duckdb(tmp_path):
    rows = "".join(f"{i},{i % 7},r{i % 5}\n" for i in range(250_000))
    report, out = run(tmp_path, CSV_TO_PQ, ("id,k,r\n" + rows).encode())
    meta = pq.ParquetFile(out).metadata
    assert meta.num_rows == 250_000
    assert meta.row_group(0).num_rows >= 100_000
    col = meta.row_group(0).column(0)
    assert col.compression == "ZSTD"
    assert col.is_stats_set and col.statistics.min == 0
    assert duckdb.sql(f"select count(*), sum(id) from '{out}'").fetchall()[0] == (250_000, sum(range(250_000)))
    assert report.outputs[0].size == out.stat().st_size


def test_parquet_columns_of_mostly_distinct_values_get_no_dictionary(tmp_path):
    # An id, an instant and a text of distinct values; a small key, a 61 %-distinct price.
    rows = "".join(f"{i},2024-01-01T{i // 3600 % 24:02}:{i // 60 % 60:02}:{i % 60:02},o{i},k{i % 9},{i % 5000 / 100}\n" for i in range(20_000))
    report, out = run(tmp_path, CSV_TO_PQ, ("id,ts,code,key,price\n" + rows).encode())
    group = pq.ParquetFile(out).metadata.row_group(0)
    dictionary = {group.column(c).path_in_schema: group.column(c).has_dictionary_page for c in range(group.num_columns)}
    assert dictionary == {"id": False, "ts": False, "code": False, "key": True, "price": True}
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == list(range(20_000))
    assert table.column("code").to_pylist()[-1] == "o19999"
    assert report.rows_out == 20_000
    # A file too small to judge keeps a dictionary on every column, as arrow writes it.
    _, small = run(tmp_path, CSV_TO_PQ, ("id,key\n" + "".join(f"{i},k{i % 3}\n" for i in range(100))).encode(), out="small.parquet")
    g = pq.ParquetFile(small).metadata.row_group(0)
    assert all(g.column(c).has_dictionary_page for c in range(g.num_columns))


def test_filter_derive_select_matches_duckdb(tmp_path):
    from gen_data import write_sales_csv

    src = tmp_path / "sales.csv"
    write_sales_csv(src, 5000)
    steps = [
        {"op": "read_csv"},
        {"op": "filter", "where": "status = 'shipped' and qty >= 5 and region in ('EU', 'US')"},
        {"op": "derive", "column": "revenue", "expr": "qty * unit_price * (1 - discount)"},
        {"op": "rename", "columns": {"customer_id": "customer"}},
        {"op": "select", "columns": ["order_id", "customer", "revenue"]},
        {"op": "write_parquet"},
    ]
    out = tmp_path / "o.parquet"
    engine.run(steps, str(src), str(out))
    ours = duckdb.sql(f"select count(*), round(sum(revenue), 4), sum(customer) from '{out}'").fetchall()[0]
    theirs = duckdb.sql(
        f"select count(*), round(sum(qty * unit_price * (1 - discount)), 4), sum(customer_id) from read_csv_auto('{src}') "
        "where status = 'shipped' and qty >= 5 and region in ('EU', 'US')"
    ).fetchall()[0]
    assert ours == theirs


def test_aggregate_matches_duckdb(tmp_path):
    from gen_data import write_sales_csv

    src = tmp_path / "sales.csv"
    write_sales_csv(src, 5000)
    steps = [
        {"op": "read_csv"},
        {"op": "aggregate", "by": ["region", "status"], "aggs": [
            {"fn": "count", "as": "n"}, {"fn": "sum", "column": "qty"}, {"fn": "min", "column": "unit_price"},
            {"fn": "max", "column": "unit_price"}, {"fn": "mean", "column": "qty"},
        ]},
        {"op": "write_csv"},
    ]
    out = tmp_path / "agg.csv"
    engine.run(steps, str(src), str(out))
    ours = duckdb.sql(f"select region, status, n, sum_qty, min_unit_price, max_unit_price, round(mean_qty, 6) from read_csv_auto('{out}') order by 1, 2").fetchall()
    theirs = duckdb.sql(
        f"select region, status, count(*), sum(qty), min(unit_price), max(unit_price), round(avg(qty), 6) from read_csv_auto('{src}') group by 1, 2 order by 1, 2"
    ).fetchall()
    assert ours == theirs


def test_gzip_and_zstd_inputs_are_transparent(tmp_path):
    import zstandard as zstd

    data = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(1000))
    for name, packed in [("in.csv.gz", gzip.compress(data)), ("in.csv.zst", zstd.ZstdCompressor().compress(data)), ("noext", gzip.compress(data))]:
        report, out = run(tmp_path, CSV_TO_PQ, packed, name=name)
        assert pq.read_table(out).num_rows == 1000
        assert report.input_codec in ("gzip", "zstd")


def test_jsonl_and_parquet_inputs(tmp_path):
    lines = "".join(json.dumps({"a": i, "b": f"s{i}", "c": i / 2}) + "\n" for i in range(100))
    report, out = run(tmp_path, [{"op": "read_jsonl"}, {"op": "write_parquet"}], lines.encode(), name="in.jsonl")
    assert pq.read_table(out).to_pylist()[3] == {"a": 3, "b": "s3", "c": 1.5}
    out2 = tmp_path / "back.jsonl"
    engine.run([{"op": "read_parquet"}, {"op": "filter", "where": "a >= 98"}, {"op": "write_jsonl"}], str(out), str(out2))
    assert [json.loads(x)["a"] for x in out2.read_text().splitlines()] == [98, 99]


def test_grep_gzip_output(tmp_path):
    log = "".join(f"{'ERROR' if i % 10 == 0 else 'INFO'} line {i}\n" for i in range(1000))
    report, out = run(tmp_path, [{"op": "grep", "pattern": "ERROR"}, {"op": "gzip"}], log.encode(), name="app.log", out="e.gz")
    kept = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert len(kept) == 100 == report.rows_out and report.rows_in == 1000
    assert all(k.startswith("ERROR") for k in kept)


def test_count_and_word_freq(tmp_path):
    text = b"the cat\nthe hat\n"
    _, out = run(tmp_path, [{"op": "count"}], text, name="t.txt", out="c.json")
    assert json.loads(out.read_text()) == {"lines": 2, "words": 4, "bytes": 16}
    _, out = run(tmp_path, [{"op": "word_freq", "top": 1}], text, name="t.txt", out="w.csv")
    assert out.read_text() == "word,count\nthe,2\n"


def test_sha256_of_stored_bytes(tmp_path):
    data = gzip.compress(b"hello")
    _, out = run(tmp_path, [{"op": "sha256"}], data, name="h.gz", out="h.sha256")
    assert out.read_text() == f"{hashlib.sha256(data).hexdigest()}  h.gz\n"


def test_zstd_roundtrip(tmp_path):
    data = b"abc\n" * 10000
    _, packed = run(tmp_path, [{"op": "zstd"}], data, name="x.txt", out="x.zst")
    out = tmp_path / "x.txt.out"
    engine.run([{"op": "decompress"}], str(packed), str(out))
    assert out.read_bytes() == data


def test_decompress_of_many_buffers_is_whole_and_hashed(tmp_path):
    """The bytes path reads on one thread and writes on another: every buffer arrives, in order,
    and the report's sha256 is the output's."""
    data = b"".join(b"%08d,%s\n" % (i, os.urandom(6).hex().encode()) for i in range(300_000))  # 7.5 MB
    for codec, name in (("zstd", "x.zst"), ("gzip", "x.gz")):
        _, packed = run(tmp_path, [{"op": codec}], data, name="x.txt", out=name)
        out = tmp_path / f"{name}.txt"
        report = engine.run([{"op": "decompress"}], str(packed), str(out))
        assert out.read_bytes() == data, codec
        assert [(o.size, o.sha256) for o in report.outputs] == [(len(data), hashlib.sha256(data).hexdigest())], codec


def test_a_broken_or_cancelled_decompress_leaves_no_output(tmp_path):
    data = b"".join(b"%08d\n" % i for i in range(2_000_000))  # 18 MB
    _, packed = run(tmp_path, [{"op": "zstd", "level": 1}], data, name="x.txt", out="x.zst")
    cut = tmp_path / "cut.zst"
    cut.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    with pytest.raises(engine.InputFormatError, match="cut.zst"):
        engine.run([{"op": "decompress"}], str(cut), str(tmp_path / "cut.txt"))
    with pytest.raises(engine.CancelledError):
        engine.run([{"op": "decompress"}], str(packed), str(tmp_path / "x.out"), progress=lambda p: False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.zst", "x.txt", "x.zst"]  # no output, no hidden spill
    # The writer thread fails past one part (8 MiB), where the output's folder must be made: the
    # error is the output's, and the reader stops.
    with pytest.raises(engine.StorageError) as e:
        engine.run([{"op": "decompress"}], str(packed), str(tmp_path / "x.txt" / "under-a-file.txt"))
    assert "under-a-file.txt" in e.value.uri


def test_a_cancel_while_the_last_buffers_are_still_being_written_is_seen(tmp_path):
    """The reader can finish reading long before a slow encoder (zstd -19) has written the last
    buffers. The run must still ask about a cancel or a time limit while it waits for them: CI
    once saw a 0.3 s timeout ignored for a whole second, and the job succeed. Here the callback
    cancels only on its second call after the whole input was read, which the old code never
    made."""
    src = tmp_path / "noise.txt"
    src.write_bytes(base64.b64encode(os.urandom(3 << 20)))  # 4 MiB: the last three 1 MiB buffers, about 0.8 s of zstd -19 on CI, are left to write
    after_read = []

    def progress(p):
        if p["bytes_in"] >= p["input_size"]:
            after_read.append(p["bytes_in"])
        return len(after_read) < 2

    with pytest.raises(engine.CancelledError):
        engine.run([{"op": "zstd", "level": 19}], str(src), str(tmp_path / "noise.zst"), progress=progress)
    assert not (tmp_path / "noise.zst").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise.txt"]


# -- errors: typed, located, and leaving no partial output -------------------------------------

ERRORS = [
    ("ragged", b"a,b\n1,2\n3\n", "expected 2 fields, found 1", "line"),
    # declared: `auto` would read bytes that are never UTF-8 as windows-1252
    ("invalid_utf8", b"a,b\n1,\xff\xfe\n", "not valid UTF-8", "line"),
    ("empty", b"", "empty input", None),
]


@pytest.mark.parametrize("name,data,fragment,attr", ERRORS)
def test_malformed_csv_is_located(tmp_path, name, data, fragment, attr):
    """With on_bad_rows: fail, the first bad row is the error, with its place (the default
    quarantines instead: tests/realworld)."""
    with pytest.raises(engine.InputFormatError) as e:
        run(tmp_path, [{"op": "read_csv", "on_bad_rows": "fail", "encoding": "utf-8"}, {"op": "write_parquet"}], data)
    assert fragment in str(e.value)
    assert "in.csv" in str(e.value)
    if attr:
        assert getattr(e.value, attr) is not None
    assert not (tmp_path / "out.parquet").exists()


def test_columns_no_step_uses_are_not_converted(tmp_path):
    """A value only a column no step uses could not take does not make its row bad; with the
    column written out, it does (and the rest of the row is unchanged either way)."""
    data = b"id,qty,when\n1,3,2024-01-01\n2,4,not a date\n3,5,2024-01-03\n"
    skip = {"op": "read_csv", "on_bad_rows": "skip", "schema": {"when": "date"}}
    report, dst = run(tmp_path, [skip, {"op": "select", "columns": ["id", "qty"]}, {"op": "write_parquet"}], data)
    assert (report.rows_out, report.rows_rejected) == (3, 0)
    assert pq.read_table(dst).to_pydict() == {"id": [1, 2, 3], "qty": [3, 4, 5]}
    report, dst = run(tmp_path, [skip, {"op": "aggregate", "by": [], "aggs": [{"fn": "sum", "column": "qty"}]}, {"op": "write_parquet"}], data)
    assert (report.rows_rejected, pq.read_table(dst).column(0).to_pylist()) == (0, [12])
    report, dst = run(tmp_path, [skip, {"op": "write_parquet"}], data)
    assert (report.rows_out, report.rows_rejected) == (2, 1)
    assert pq.read_table(dst).column("id").to_pylist() == [1, 3]


def test_json_lines_read_only_the_columns_steps_use_by_either_way(tmp_path):
    """JSON lines as CSV above: a value only a dropped column could not take keeps its row. Both
    ways through a chunk hold to it: the quick one (all-scalar lines) and the general one (a
    chunk with a broken line or an escaped key goes that way)."""
    good = b'{"id": 1, "qty": 3, "when": "2024-01-01"}\n{"id": 2, "qty": 4, "when": "not a date"}\n'
    for extra, rejected in [(b"", 0), (b"{broken\n", 1), (b'{"id": 3, "qty": 5, "wh\\u0065n": "2024-01-03"}\n', 0)]:
        data = good + extra
        read = {"op": "read_jsonl", "on_bad_rows": "skip", "max_bad_rows": 10, "schema": {"when": "date"}}
        report, dst = run(tmp_path, [read, {"op": "select", "columns": ["id", "qty"]}, {"op": "write_parquet"}], data, name="t.jsonl")
        rows = 2 + (extra.startswith(b'{"id"'))
        assert (report.rows_out, report.rows_rejected) == (rows, rejected), extra
        assert pq.read_table(dst).column("qty").to_pylist() == [3, 4, 5][:rows]
        report, dst = run(tmp_path, [read, {"op": "write_parquet"}], data, name="t.jsonl")
        assert report.rows_rejected == rejected + 1, extra  # the bad date now counts
        assert pq.read_table(dst).column("id").to_pylist() == [1, 3][: rows - 1]


def test_value_violating_declared_schema_is_located(tmp_path):
    data = b"a\n" + b"1\n" * 2000 + b"oops\n"
    with pytest.raises(engine.InputFormatError) as e:
        run(tmp_path, [{"op": "read_csv", "schema": {"a": "int64"}, "on_bad_rows": "fail"}, {"op": "write_parquet"}], data)
    assert "oops" in str(e.value) and 'column "a"' in str(e.value)
    assert (e.value.line, e.value.column) == (2002, 1)  # the file's own line (header is line 1), 1-based field


def test_truncated_gzip(tmp_path):
    packed = gzip.compress(b"a,b\n" + b"1,2\n" * 50000)
    with pytest.raises(engine.InputFormatError):
        run(tmp_path, CSV_TO_PQ, packed[: len(packed) // 2], name="t.csv.gz")


def test_not_parquet(tmp_path):
    with pytest.raises(engine.InputFormatError, match="not a readable Parquet"):
        run(tmp_path, [{"op": "read_parquet"}, {"op": "write_csv"}], b"hello, world", name="x.parquet", out="o.csv")


def test_expression_error_has_position(tmp_path):
    with pytest.raises(engine.ExpressionError) as e:
        run(tmp_path, [{"op": "read_csv"}, {"op": "filter", "where": "a > 1 and nope = 2"}, {"op": "write_csv"}], b"a\n1\n", out="o.csv")
    assert e.value.column == 11 and "unknown column" in str(e.value)


def test_missing_input_is_storage_error(tmp_path):
    with pytest.raises(engine.StorageError) as e:
        engine.run(CSV_TO_PQ, str(tmp_path / "nope.csv"), str(tmp_path / "o.parquet"))
    assert "nope.csv" in e.value.uri


def test_progress_can_cancel(tmp_path):
    src = tmp_path / "big.log"
    src.write_bytes(b"x" * 100 + b"\n" * 1 + (b"y" * 99 + b"\n") * 2_000_000)
    seen = []

    def progress(p):
        seen.append(p)
        return False

    with pytest.raises(engine.CancelledError):
        engine.run([{"op": "grep", "pattern": "zzz", "invert": True}], str(src), str(tmp_path / "o.log"), progress=progress)
    assert not (tmp_path / "o.log").exists()


def test_progress_callback_exception_propagates(tmp_path):
    src = tmp_path / "big.log"
    src.write_bytes((b"y" * 99 + b"\n") * 2_000_000)

    def progress(p):
        raise RuntimeError("stop now")

    with pytest.raises(RuntimeError, match="stop now"):
        engine.run([{"op": "grep", "pattern": "y"}], str(src), str(tmp_path / "o.log"), progress=progress)


def test_importing_the_engine_pulls_in_nothing_heavy():
    """Every command and every benchmark run starts by importing it: no json, dataclasses or
    typing (they were ~45 ms of a 65 ms import)."""
    check = "import sys; from pravah import engine; print(' '.join(sorted({'json', 'dataclasses', 'typing', 'inspect', 're'} & set(sys.modules))))"
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_the_binding_takes_and_gives_python_values(tmp_path):
    """Plans go in as dicts and reports come back as dicts, keys in the engine's order; what JSON
    cannot hold is refused by name, as json.dumps would."""
    with pytest.raises(ValueError, match="NaN"):
        engine.check_step({"op": "filter", "where": float("nan")})
    with pytest.raises(ValueError, match="64 bits"):
        engine.check_step({"op": "read_csv", "infer_rows": 2**70})
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        engine.check_step({"op": "select", "columns": {"a"}})
    with pytest.raises(engine.PlanError, match="expected usize"):
        engine.check_step({"op": "read_csv", "infer_rows": "many"})
    engine.check_step({"op": "select", "columns": ("a", "b")})  # a tuple is a list, as in json
    found = engine.inspect({"op": "read_csv"}, _write(tmp_path / "i.csv", b"b,a\n1,x\n"), rows=1)
    assert [c[0] for c in found["columns"]] == ["b", "a"]
    assert list(found)[:2] == ["dialect", "columns"]
    report, _ = run(tmp_path, CSV_TO_PQ, b"a\n1\n2\n")
    assert (report.rows_in, report.outputs[0].size > 0, report.skipped) == (2, True, [])
    with pytest.raises(AttributeError, match="frozen"):
        report.rows_in = 3
    assert report == engine.Report(**report.as_dict() | {"outputs": report.outputs, "rejects": None, "manifest": None})
    assert engine.Report(1, 2, 3, 4, 5, "none", 6).skipped is not engine.Report(1, 2, 3, 4, 5, "none", 6).skipped


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_the_engine_process_takes_no_transparent_huge_pages():
    """With the kernel's THP "always", every fresh chunk's first touch zeroed a 2 MiB page: up to
    0.7 s of kernel time in a 0.5 s CSV → Parquet. Loading the engine turns THP off for its process."""
    status = Path("/proc/self/status").read_text()
    assert "THP_enabled:\t0" in status, [line for line in status.splitlines() if "THP" in line]
