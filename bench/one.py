"""Run one benchmark task with one tool, in its own process (so peak RSS is its own)."""

from __future__ import annotations

import subprocess
import sys

THREADS = "2"


def pravah(task: str, src: str, dst: str) -> None:
    from pravah import engine

    plans = {
        "b1": [{"op": "read_csv"}, {"op": "write_parquet"}],
        "b2": [{"op": "read_jsonl"}, {"op": "write_parquet"}],
        "b4": [
            {"op": "read_csv"},
            {"op": "filter", "where": "status = 'shipped' and qty >= 5"},
            {"op": "rename", "columns": {"customer_id": "customer"}},
            {"op": "cast", "columns": {"qty": "int32"}},
            {"op": "select", "columns": ["order_id", "customer", "region", "qty", "unit_price"]},
            {"op": "write_parquet"},
        ],
        "b5": [
            {"op": "read_csv"},
            {"op": "aggregate", "by": ["region"], "aggs": [
                {"fn": "count"}, {"fn": "sum", "column": "qty"}, {"fn": "min", "column": "unit_price"},
                {"fn": "max", "column": "unit_price"}, {"fn": "mean", "column": "unit_price"}]},
            {"op": "write_csv"},
        ],
        "b7": [{"op": "grep", "pattern": "ERROR"}],
    }
    plans["b11csv"], plans["b11grep"] = plans["b1"], plans["b7"]
    engine.run(plans[task], src, dst)


def duckdb_(task: str, src: str, dst: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={THREADS}")
    task = "b1" if task == "b11csv" else task
    read = f"read_csv_auto('{src}')" if task != "b2" else f"read_json_auto('{src}', format='newline_delimited')"
    q = {
        "b1": f"SELECT * FROM {read}",
        "b2": f"SELECT * FROM {read}",
        "b4": f"SELECT order_id, customer_id AS customer, region, CAST(qty AS INTEGER) AS qty, unit_price FROM {read} WHERE status = 'shipped' AND qty >= 5",
        "b5": f"SELECT region, count(*), sum(qty), min(unit_price), max(unit_price), avg(unit_price) FROM {read} GROUP BY region",
    }[task]
    fmt = "(FORMAT CSV)" if task == "b5" else "(FORMAT PARQUET, COMPRESSION ZSTD)"
    con.execute(f"COPY ({q}) TO '{dst}' {fmt}")


def polars_(task: str, src: str, dst: str) -> None:
    import os

    os.environ["POLARS_MAX_THREADS"] = THREADS
    import polars as pl

    lf = pl.scan_ndjson(src) if task == "b2" else pl.scan_csv(src)
    if task == "b4":
        lf = lf.filter((pl.col("status") == "shipped") & (pl.col("qty") >= 5)).rename({"customer_id": "customer"}).with_columns(
            pl.col("qty").cast(pl.Int32)).select(["order_id", "customer", "region", "qty", "unit_price"])
    if task == "b5":
        lf.group_by("region").agg(pl.len(), pl.col("qty").sum(), pl.col("unit_price").min().alias("mn"),
                                  pl.col("unit_price").max().alias("mx"), pl.col("unit_price").mean().alias("avg")).sink_csv(dst)
        return
    lf.sink_parquet(dst, compression="zstd")


def datafusion_(task: str, src: str, dst: str) -> None:
    from datafusion import SessionConfig, SessionContext, col, functions as f, lit

    ctx = SessionContext(SessionConfig().with_target_partitions(int(THREADS)))
    df = ctx.read_json(src, file_extension=".jsonl") if task == "b2" else ctx.read_csv(src)
    if task == "b4":
        df = df.filter((col("status") == lit("shipped")) & (col("qty") >= lit(5))).select(
            col("order_id"), col("customer_id").alias("customer"), col("region"),
            col("qty").cast(__import__("pyarrow").int32()).alias("qty"), col("unit_price"))
    if task == "b5":
        df.aggregate([col("region")], [f.count(lit(1)), f.sum(col("qty")), f.min(col("unit_price")),
                                       f.max(col("unit_price")), f.avg(col("unit_price"))]).write_csv(dst)
        return
    df.write_parquet(dst, compression="zstd")


def pyarrow_(task: str, src: str, dst: str) -> None:
    import pyarrow as pa

    pa.set_cpu_count(int(THREADS))
    pa.set_io_thread_count(int(THREADS))
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    if task == "b2":
        t = pajson.read_json(src)
        pq.write_table(t, dst, compression="zstd")
        return
    reader = pacsv.open_csv(src)
    with pq.ParquetWriter(dst, reader.schema, compression="zstd") as w:
        for batch in reader:
            w.write_batch(batch)


def grep_(tool: str, src: str, dst: str) -> None:
    with open(dst, "wb") as out:
        cmd = ["rg", "-j", THREADS, "--no-mmap", "ERROR", src] if tool == "ripgrep" else ["grep", "ERROR", src]
        subprocess.run(cmd, stdout=out, check=False)


TOOLS = {"pravah": pravah, "duckdb": duckdb_, "polars": polars_, "datafusion": datafusion_, "pyarrow": pyarrow_}

if __name__ == "__main__":
    tool, task, src, dst = sys.argv[1:5]
    if tool in ("ripgrep", "grep"):
        grep_(tool, src, dst)
    else:
        TOOLS[tool](task, src, dst)
