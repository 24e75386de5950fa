"""Every supported type through every table writer: Parquet read back by pyarrow, duckdb and
polars with the logical type intact; CSV and JSON lines read back by Pravah itself to the same
values."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pravah import engine

# column → (type name, two values as text, the pyarrow type the Parquet file must carry)
TYPES = {
    "b": ("bool", ["true", "false"], pa.bool_()),
    "i8": ("int8", ["-128", "127"], pa.int8()),
    "i16": ("int16", ["-32768", "32767"], pa.int16()),
    "i32": ("int32", ["-2147483648", "2147483647"], pa.int32()),
    "i64": ("int64", ["-9223372036854775808", "9223372036854775807"], pa.int64()),
    "u8": ("uint8", ["0", "255"], pa.uint8()),
    "u16": ("uint16", ["0", "65535"], pa.uint16()),
    "u32": ("uint32", ["0", "4294967295"], pa.uint32()),
    "u64": ("uint64", ["0", "18446744073709551615"], pa.uint64()),
    "f32": ("float32", ["1.5", "-0.25"], pa.float32()),
    "f64": ("float64", ["3.141592653589793", "-1e-300"], pa.float64()),
    "s": ("string", ["héllo, \"world\"", "line\nbreak"], pa.string()),
    "d": ("date", ["1970-01-01", "2024-02-29"], pa.date32()),
    "ts": ("timestamp", ["2024-02-29T23:59:59.123456", "1969-12-31T00:00:00"], pa.timestamp("us")),
    "tz": ("timestamptz", ["2024-02-29T23:59:59.5+02:00", "2024-01-01T00:00:00Z"], pa.timestamp("us", "+00:00")),
}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    def quote(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    rows = [",".join(TYPES)] + [",".join(quote(TYPES[c][1][i]) for c in TYPES) for i in range(2)]
    # a third row of nulls: every type must carry them too
    rows.append("," * (len(TYPES) - 1))
    src = tmp_path / "types.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return src


READ = {"op": "read_csv", "schema": {c: t for c, (t, _, _) in TYPES.items()}, "on_bad_rows": "fail"}


def test_parquet_keeps_every_type_for_every_reader(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    report = engine.run([READ, {"op": "write_parquet"}], str(source), str(out))
    assert report.rows_out == 3 and report.rows_rejected == 0
    table = pq.read_table(out)
    for c, (_, _, want) in TYPES.items():
        got = table.schema.field(c).type
        assert got == want or (pa.types.is_timestamp(want) and got.unit == "us" and (got.tz is None) == (want.tz is None)), (c, got)
        assert table.column(c).null_count == 1, c
    assert table.column("tz").to_pylist()[0].isoformat() == "2024-02-29T21:59:59.500000+00:00"
    assert table.column("u64").to_pylist()[1] == 18446744073709551615
    # duckdb and polars see the same logical types (timestamps are times, not numbers)
    kinds = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()}
    assert kinds["ts"] == "TIMESTAMP" and kinds["tz"] == "TIMESTAMP WITH TIME ZONE" and kinds["d"] == "DATE"
    assert kinds["u64"] == "UBIGINT" and kinds["i8"] == "TINYINT" and kinds["b"] == "BOOLEAN"
    schema = pl.read_parquet(out).schema
    assert schema["ts"] == pl.Datetime("us") and isinstance(schema["tz"], pl.Datetime) and schema["tz"].time_zone is not None
    assert schema["d"] == pl.Date and schema["u32"] == pl.UInt32 and schema["f32"] == pl.Float32


@pytest.mark.parametrize("writer", ["write_csv", "write_jsonl"])
def test_text_writers_round_trip_through_the_engine(source: Path, tmp_path: Path, writer: str) -> None:
    direct = tmp_path / "direct.parquet"
    engine.run([READ, {"op": "write_parquet"}], str(source), str(direct))
    text = tmp_path / ("t.csv" if writer == "write_csv" else "t.jsonl")
    engine.run([READ, {"op": writer}], str(source), str(text))
    back = tmp_path / "back.parquet"
    reread = dict(READ) if writer == "write_csv" else {"op": "read_jsonl", "schema": READ["schema"], "on_bad_rows": "fail"}
    engine.run([reread, {"op": "write_parquet"}], str(text), str(back))
    assert pq.read_table(back).to_pylist() == pq.read_table(direct).to_pylist()
    if writer == "write_jsonl":
        last = json.loads(text.read_text(encoding="utf-8").splitlines()[-1])
        assert set(last) == set(TYPES) and all(v is None for v in last.values())  # nulls written, not dropped
