"""Run one benchmark task with one tool, in its own process (so peak RSS is its own).
B12's object store comes from the environment run.py sets: BENCH_S3_ENDPOINT (http://host:port),
BENCH_S3_KEY, BENCH_S3_SECRET."""

from __future__ import annotations

import os
import subprocess
import sys

THREADS = "2"
# B8: task → (codec, level); level None = decompress. Levels are the CLIs' own numbers.
B8 = {
    "b8gz6": ("gzip", 6),
    "b8gz1": ("gzip", 1),
    "b8gunzip": ("gzip", None),
    "b8zst3": ("zstd", 3),
    "b8zst1": ("zstd", 1),
    "b8unzstd": ("zstd", None),
}


def s3() -> tuple[str, str, str]:
    return os.environ["BENCH_S3_ENDPOINT"], os.environ["BENCH_S3_KEY"], os.environ["BENCH_S3_SECRET"]


def pravah(task: str, src: str, dst: str, level: int | None = None) -> None:
    from pravah import engine

    write = {"op": "write_parquet"} if level is None else {"op": "write_parquet", "level": level}
    plans = {
        "b1": [{"op": "read_csv"}, write],
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
            {
                "op": "aggregate",
                "by": ["region"],
                "aggs": [
                    {"fn": "count"},
                    {"fn": "sum", "column": "qty"},
                    {"fn": "min", "column": "unit_price"},
                    {"fn": "max", "column": "unit_price"},
                    {"fn": "mean", "column": "unit_price"},
                ],
            },
            {"op": "write_csv"},
        ],
        "b7": [{"op": "grep", "pattern": "ERROR"}],
    }
    plans["b11csv"], plans["b11grep"] = plans["b1"], plans["b7"]
    plans["b3gz"] = plans["b3zst"] = plans["b12"] = plans["b1"]  # the read step sniffs gzip/zstd
    for name, (codec, level) in B8.items():
        # No decompress-only op per codec: `decompress` sniffs gzip or zstd from the magic bytes.
        plans[name] = [{"op": "decompress"}] if level is None else [{"op": codec, "level": level}]
    options = None
    if task == "b12":
        endpoint, key, secret = s3()
        options = {"endpoint": endpoint, "allow_http": "true", "region": "us-east-1", "access_key_id": key, "secret_access_key": secret}
    engine.run(plans[task], src, dst, storage_options=options)


def duckdb_(task: str, src: str, dst: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={THREADS}")
    if task == "b12":
        # PyPI's duckdb-extension-httpfs, for the duckdb of the side virtualenv run.py made.
        import duckdb_extension_httpfs

        ext = os.path.join(os.path.dirname(duckdb_extension_httpfs.__file__), "extensions", f"v{duckdb.__version__}", "httpfs.duckdb_extension")
        con.execute(f"LOAD '{ext}'")
        endpoint, key, secret = s3()
        con.execute(
            f"CREATE SECRET (TYPE S3, KEY_ID '{key}', SECRET '{secret}', REGION 'us-east-1', "
            f"ENDPOINT '{endpoint.split('://', 1)[1]}', URL_STYLE 'path', USE_SSL false)"
        )
    task = "b1" if task in ("b11csv", "b3gz", "b3zst", "b12") else task  # .gz/.zst: decompressed by extension
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

    options = None
    if task == "b12":
        endpoint, key, secret = s3()
        options = {"aws_endpoint_url": endpoint, "aws_access_key_id": key, "aws_secret_access_key": secret, "aws_region": "us-east-1", "aws_allow_http": "true"}
    # .gz/.zst: scan_csv decompresses (the magic bytes decide).
    lf = pl.scan_ndjson(src) if task == "b2" else pl.scan_csv(src, storage_options=options)
    if task == "b4":
        lf = (
            lf.filter((pl.col("status") == "shipped") & (pl.col("qty") >= 5))
            .rename({"customer_id": "customer"})
            .with_columns(pl.col("qty").cast(pl.Int32))
            .select(["order_id", "customer", "region", "qty", "unit_price"])
        )
    if task == "b5":
        lf.group_by("region").agg(
            pl.len(),
            pl.col("qty").sum(),
            pl.col("unit_price").min().alias("mn"),
            pl.col("unit_price").max().alias("mx"),
            pl.col("unit_price").mean().alias("avg"),
        ).sink_csv(dst)
        return
    lf.sink_parquet(dst, compression="zstd", storage_options=options)


def datafusion_(task: str, src: str, dst: str) -> None:
    from datafusion import SessionConfig, SessionContext, col, functions as f, lit

    ctx = SessionContext(SessionConfig().with_target_partitions(int(THREADS)))
    if task in ("b3gz", "b3zst"):
        # Needs the hint: without it the compressed bytes are parsed as CSV (a UTF-8 error).
        codec = "gzip" if task == "b3gz" else "zstd"
        df = ctx.read_csv(src, file_extension=".csv.gz" if codec == "gzip" else ".csv.zst", file_compression_type=codec)
    elif task == "b2":
        df = ctx.read_json(src, file_extension=".jsonl")
    else:
        df = ctx.read_csv(src)
    if task == "b4":
        df = df.filter((col("status") == lit("shipped")) & (col("qty") >= lit(5))).select(
            col("order_id"), col("customer_id").alias("customer"), col("region"), col("qty").cast(__import__("pyarrow").int32()).alias("qty"), col("unit_price")
        )
    if task == "b5":
        df.aggregate(
            [col("region")], [f.count(lit(1)), f.sum(col("qty")), f.min(col("unit_price")), f.max(col("unit_price")), f.avg(col("unit_price"))]
        ).write_csv(dst)
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
    if task == "b12":
        import pyarrow.fs as pafs

        endpoint, key, secret = s3()
        scheme, host = endpoint.split("://", 1)
        fs = pafs.S3FileSystem(access_key=key, secret_key=secret, endpoint_override=host, scheme=scheme, region="us-east-1")
        reader = pacsv.open_csv(fs.open_input_stream(src.removeprefix("s3://")))
        with fs.open_output_stream(dst.removeprefix("s3://")) as out, pq.ParquetWriter(out, reader.schema, compression="zstd") as w:
            for batch in reader:
                w.write_batch(batch)
        return
    raw = pa.OSFile(src)
    if task in ("b3gz", "b3zst"):
        raw = pa.CompressedInputStream(raw, "gzip" if task == "b3gz" else "zstd")
    reader = pacsv.open_csv(raw)
    with pq.ParquetWriter(dst, reader.schema, compression="zstd") as w:
        for batch in reader:
            w.write_batch(batch)


def grep_(tool: str, src: str, dst: str) -> None:
    with open(dst, "wb") as out:
        cmd = ["rg", "-j", THREADS, "--no-mmap", "ERROR", src] if tool == "ripgrep" else ["grep", "ERROR", src]
        subprocess.run(cmd, stdout=out, check=False)


def codec_cli(tool: str, task: str, src: str, dst: str) -> None:
    """B8 with gzip, pigz or the zstd CLI, 2 threads where the tool has threads."""
    _, level = B8[task]
    how = ["-dc"] if level is None else [f"-{level}", "-c"]
    threads = {"gzip": [], "pigz": ["-p", THREADS], "zstd": ["-q", f"-T{THREADS}"]}[tool]
    with open(dst, "wb") as out:
        subprocess.run([tool, *threads, *how, src], stdout=out, check=True)


def pravah_zstd3(task: str, src: str, dst: str) -> None:
    """Pravah with level 3 for its Parquet pages, as duckdb, polars and datafusion write by default
    (Pravah's default is 1, as pyarrow's)."""
    pravah(task, src, dst, level=3)


TOOLS = {"pravah": pravah, "pravah-zstd3": pravah_zstd3, "duckdb": duckdb_, "polars": polars_, "datafusion": datafusion_, "pyarrow": pyarrow_}

if __name__ == "__main__":
    tool, task, src, dst = sys.argv[1:5]
    if tool in ("ripgrep", "grep"):
        grep_(tool, src, dst)
    elif tool in ("gzip", "pigz", "zstd"):
        codec_cli(tool, task, src, dst)
    else:
        TOOLS[tool](task, src, dst)
