"""`pravah scan s3://…` on the real MinIO, checked against boto3's own listing: a few thousand
small objects under nested prefixes, a flat prefix longer than one page, a deep chain, filters."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pravah import engine
from pravah.settings import S3Settings
from pravah.storage import S3Store

from .conftest import PRAVAH, RUN, drop_bucket, s3_client

BUCKET = f"scan-{RUN}"


def keys() -> list[tuple[str, int]]:
    """(key, size): nested data/, its look-alike sibling data2/, a flat prefix of 1,500 (two
    pages), and a deep chain with one branch per level."""
    out = []
    for i in range(1600):
        region, day = f"r{i % 4}", f"2026-11-{1 + i % 8:02d}"
        ext = [".csv", ".json", ".csv.gz", ""][i % 4]
        out.append((f"data/{region}/{day}/part-{i}{ext}", i % 300))
    out += [(f"data/top-{i}.csv", 10) for i in range(5)]
    out += [(f"data2/x-{i}.csv", 7) for i in range(20)]
    out += [(f"flat/obj-{i:05d}.bin", 1000 + i) for i in range(1500)]
    out += [(f"deep/a/b/c/d/e/leaf-{i}.txt", 3) for i in range(30)] + [("deep/a/b/side.txt", 4)]
    return out


@pytest.fixture(scope="module")
def bucket(stack: dict[str, str]) -> str:
    s3 = s3_client()
    s3.create_bucket(Bucket=BUCKET)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=BUCKET, Key=kv[0], Body=b"x" * kv[1]), keys()))
    yield BUCKET
    drop_bucket(BUCKET)


@pytest.fixture(scope="module")
def options(stack: dict[str, str]) -> dict[str, str]:
    return S3Store(S3Settings(endpoint=stack["PRAVAH_S3__ENDPOINT"], access_key=stack["PRAVAH_S3__ACCESS_KEY"],
                              secret_key=stack["PRAVAH_S3__SECRET_KEY"])).options


def boto_listing(prefix: str) -> dict[str, dict]:
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])}


@pytest.mark.parametrize("prefix", ["", "data/", "data", "flat/", "deep/", "deep/a/b/c/"])
def test_listing_matches_boto3(bucket: str, options: dict[str, str], tmp_path: Path, prefix: str) -> None:
    out = tmp_path / "keys.jsonl"
    s = engine.scan(f"s3://{bucket}/{prefix}", output=str(out), storage_options=options, concurrency=4)
    want = boto_listing(prefix.rstrip("/") + "/" if prefix else "")
    got = {e["key"]: e for e in map(json.loads, out.read_text().splitlines())}
    assert got.keys() == want.keys()
    assert s.files == len(want) and s.errors == 0
    assert s.bytes == sum(o["Size"] for o in want.values())
    for key, e in got.items():
        assert e["size"] == want[key]["Size"]
        assert abs(datetime.fromisoformat(e["modified"]) - want[key]["LastModified"]) < timedelta(seconds=1), key


def test_filters_match_boto3(bucket: str, options: dict[str, str]) -> None:
    want = boto_listing("data/")
    csv = [k for k in want if k.endswith(".csv")]
    assert engine.scan(f"s3://{bucket}/data", globs=["**/*.csv"], storage_options=options).files == len(csv)
    assert engine.scan(f"s3://{bucket}/data", globs=["*/2026-11-0[12]/*"], storage_options=options).files == \
        sum(k.split("/")[2] in ("2026-11-01", "2026-11-02") for k in want if k.count("/") == 3)
    # Literal folders: only data/r1/ and data/r2/2026-11-03/ are listed below data/'s top level.
    assert engine.scan(f"s3://{bucket}/data", globs=["r1/**", "r2/2026-11-03/*.gz"], storage_options=options).files == \
        sum(k.startswith("data/r1/") or (k.startswith("data/r2/2026-11-03/") and k.endswith(".gz")) for k in want)
    s = engine.scan(f"s3://{bucket}/data", min_size=100, max_size=199, storage_options=options)
    assert s.files == sum(100 <= o["Size"] <= 199 for o in want.values())
    assert s.files + s.skipped == len(want)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert engine.scan(f"s3://{bucket}/data", modified_after=hour_ago, storage_options=options).files == len(want)
    assert engine.scan(f"s3://{bucket}/data", modified_before=hour_ago, storage_options=options).files == 0


def test_summary_by_extension(bucket: str, options: dict[str, str]) -> None:
    s = engine.scan(f"s3://{bucket}/data2", storage_options=options)
    assert s.by_extension == [{"extension": "csv", "files": 20, "bytes": 140}]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_missing_bucket_is_not_found(stack: dict[str, str], options: dict[str, str], concurrency: int) -> None:
    with pytest.raises(engine.NotFoundError):
        engine.scan(f"s3://no-such-bucket-{RUN}/x", storage_options=options, concurrency=concurrency)


def test_one_listing_at_a_time_sees_the_same(bucket: str, options: dict[str, str]) -> None:
    s = engine.scan(f"s3://{bucket}/data", storage_options=options, concurrency=1)
    assert s.files == len(boto_listing("data/"))


def test_cli_takes_the_store_from_settings(bucket: str, stack: dict[str, str]) -> None:
    env = {**os.environ, **stack}
    r = subprocess.run([str(PRAVAH), "scan", f"s3://{bucket}/flat", "--json", "--min-size", "2000"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(e["key"] for e in got) == sorted(k for k, o in boto_listing("flat/").items() if o["Size"] >= 2000)
    r = subprocess.run([str(PRAVAH), "scan", f"s3://no-such-bucket-{RUN}/x"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: s3://no-such-bucket-{RUN}/x: does not exist"


def test_headers_of_every_csv_under_a_prefix_into_one_table(stack: dict[str, str], tmp_path: Path) -> None:
    """The seed story on MinIO: the header row of each CSV under a prefix, one Parquet table;
    each header is one small ranged GET (16 KiB), more only for a header longer than that."""
    import pyarrow.parquet as pq

    bucket = f"scan-headers-{RUN}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    try:
        wide = ",".join(f"column_number_{i}" for i in range(2000))  # ~34 KB: past the first block
        bodies = {f"exports/r{i % 3}/f{i:04d}.csv": f"id{';' if i % 4 == 0 else ','}name_{i}\n1,2\n" for i in range(300)}
        bodies["exports/wide.csv"] = wide + "\n1\n"
        bodies["exports/empty.csv"] = ""
        bodies["exports/readme.txt"] = "not a csv"
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1].encode()), bodies.items()))
        out = tmp_path / "headers.parquet"
        r = subprocess.run([str(PRAVAH), "scan", f"s3://{bucket}/exports", "--glob", "*.csv", "--headers", "-o", str(out)],
                           env={**os.environ, **stack}, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "headers: 301 read, 1 unreadable" in r.stdout, r.stdout
        t = pq.read_table(out).to_pydict()
        rows = {k: (h, d, e) for k, h, d, e in zip(t["key"], t["header"], t["delimiter"], t["header_error"], strict=True)}
        assert len(rows) == 302 and "exports/readme.txt" not in rows
        assert rows["exports/r1/f0001.csv"] == (["id", "name_1"], ",", None)
        assert rows["exports/r1/f0004.csv"] == (["id", "name_4"], ";", None)
        assert rows["exports/wide.csv"][0] == wide.split(",")
        assert rows["exports/empty.csv"] == (None, None, "empty: no header row")
    finally:
        drop_bucket(bucket)
