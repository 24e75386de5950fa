"""Checks of run.py's outputs, and B12's staging on MinIO, each in a process of its own: the
runner must stay small, because a child started with vfork reports at least its parent's peak
RSS through wait4 (pyarrow or boto3 imported there would inflate every tool's figure).

    python bench/check.py parquet URI       # {"rows", "bytes", "codecs", "row_groups"} as JSON
    python bench/check.py sha256 PATH       # sha256 of the bytes, gunzipped/unzstd'ed if they are
    python bench/check.py stage SRC s3://BUCKET/KEY   # bucket made, SRC uploaded unless there, outputs gone

s3:// URIs use BENCH_S3_ENDPOINT, BENCH_S3_KEY and BENCH_S3_SECRET (set by run.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path


def s3_filesystem():
    import pyarrow.fs as pafs

    scheme, host = os.environ["BENCH_S3_ENDPOINT"].split("://", 1)
    return pafs.S3FileSystem(
        access_key=os.environ["BENCH_S3_KEY"], secret_key=os.environ["BENCH_S3_SECRET"], endpoint_override=host, scheme=scheme, region="us-east-1"
    )


def parquet(uri: str) -> dict:
    import pyarrow.parquet as pq

    if uri.startswith("s3://"):
        fs, path = s3_filesystem(), uri.removeprefix("s3://")
        size = fs.get_file_info(path).size
        with fs.open_input_file(path) as f:
            meta = pq.ParquetFile(f).metadata
    else:
        size, meta = Path(uri).stat().st_size, pq.ParquetFile(uri).metadata
    codecs = sorted({meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)})
    return {"rows": meta.num_rows, "bytes": size, "codecs": codecs, "row_groups": meta.num_row_groups}


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if head[:2] == b"\x1f\x8b":
            import gzip

            stream = gzip.GzipFile(fileobj=f)
        elif head == b"\x28\xb5\x2f\xfd":
            import zstandard

            stream = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True)
        else:
            stream = f
        h = hashlib.sha256()
        while chunk := stream.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def stage(src: str, uri: str) -> None:
    import boto3
    from botocore.config import Config

    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["BENCH_S3_ENDPOINT"],
        aws_access_key_id=os.environ["BENCH_S3_KEY"],
        aws_secret_access_key=os.environ["BENCH_S3_SECRET"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    try:
        same = s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == Path(src).stat().st_size
    except s3.exceptions.ClientError:
        same = False
    if not same:
        s3.upload_file(src, bucket, key)
    old = [{"Key": o["Key"]} for o in s3.list_objects_v2(Bucket=bucket, Prefix="out-").get("Contents", [])]
    if old:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": old})


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    if what == "parquet":
        print(json.dumps(parquet(args[0])))
    elif what == "sha256":
        print(sha256(args[0]))
    elif what == "stage":
        stage(*args)
    else:
        sys.exit(__doc__)
