"""The Parquet footer reader: each type by its pipeline name, from the Arrow schema in the footer
and from the Parquet types alone; row counts; garbage refused."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pravah import engine
from pravah.dryrun.parquet import NotParquet, footer_length, parse_footer

TYPES = [
    (pa.bool_(), "bool"), (pa.int8(), "int8"), (pa.int16(), "int16"), (pa.int32(), "int32"), (pa.int64(), "int64"),
    (pa.uint8(), "uint8"), (pa.uint16(), "uint16"), (pa.uint32(), "uint32"), (pa.uint64(), "uint64"),
    (pa.float32(), "float32"), (pa.float64(), "float64"), (pa.string(), "string"), (pa.large_string(), "string"),
    (pa.date32(), "date"), (pa.timestamp("us"), "timestamp"), (pa.timestamp("ms", tz="UTC"), "timestamptz"), (pa.binary(), "binary"),
]


def read(data: bytes):
    return parse_footer(data[-8 - footer_length(data[-8:]) : -8])


def written(t: pa.DataType, store_schema: bool) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"c": pa.array([None, None, None], type=t)}), buf, store_schema=store_schema)
    return buf.getvalue()


@pytest.mark.parametrize(("t", "name"), TYPES, ids=[str(t) for t, _ in TYPES])
def test_type_from_the_arrow_schema(t: pa.DataType, name: str) -> None:
    f = read(written(t, True))
    assert [(c.name, c.type) for c in f.columns] == [("c", name)] and f.num_rows == 3


@pytest.mark.parametrize(("t", "name"), [x for x in TYPES if x[1] != "timestamp"], ids=[str(t) for t, n in TYPES if n != "timestamp"])
def test_type_from_parquet_types_alone(t: pa.DataType, name: str) -> None:
    assert read(written(t, False)).columns[0].type == name


def test_what_the_engine_writes(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a,b,c,d,e\n1,x,2026-01-01,1.5,true\n2,y,2026-01-02,2.5,false\n")
    steps = [{"op": "read_csv"}, {"op": "cast", "columns": {"a": "uint8", "c": "date", "d": "float32"}}, {"op": "write_parquet"}]
    engine.run(steps, str(tmp_path / "in.csv"), str(tmp_path / "out.parquet"))
    f = read((tmp_path / "out.parquet").read_bytes())
    assert [(c.name, c.type) for c in f.columns] == [("a", "uint8"), ("b", "string"), ("c", "date"), ("d", "float32"), ("e", "bool")]
    assert f.num_rows == 2


@pytest.mark.parametrize("data", [b"", b"PAR1", b"x" * 100, b"PAR1" + b"\x00" * 4 + b"\x10\x00\x00\x00PAR1", b"\xff" * 20 + b"\x10\x00\x00\x00PAR1"])
def test_garbage_is_not_parquet(data: bytes) -> None:
    with pytest.raises(NotParquet):
        read(data)
