"""Backfill speed on the real services: a MinIO prefix of N objects becomes N jobs in PostgreSQL
(the runner of `pravah serve worker`, in this process), next to the floor — boto3 listing the same
prefix alone — and a second backfill of the same objects (every job exists: nothing made).

    python bench/backfill.py [--objects 100000] [--source s3://BUCKET/PREFIX] [--out bench/results-backfill.md]

The objects are put once and kept in the bucket bench-backfill-N under data/ (later runs reuse
them; `--drop` removes it afterwards), or `--source` names a prefix that already holds them (the
B9 bucket, for one). The jobs' pool has no workers, so nothing runs them."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import anyio
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import stack as services  # noqa: E402

from pravah import registry  # noqa: E402
from pravah.accounts.principal import LOCAL  # noqa: E402
from pravah.batch import backfills  # noqa: E402
from pravah.batch.models import Backfill  # noqa: E402
from pravah.batch.runner import Runner  # noqa: E402
from pravah.db.session import make_engine, migrate, sessions  # noqa: E402
from pravah.pipelines import validate  # noqa: E402
from pravah.routing import Router  # noqa: E402
from pravah.settings import BatchSettings, S3Settings  # noqa: E402
from pravah.storage import S3Store  # noqa: E402

HERE = Path(__file__).resolve().parent


def fill(bucket: str, n: int) -> float:
    """Put n small objects under data/ (once); seconds taken (0 when they were there)."""
    s3 = services.s3_client()
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception as e:
        if "BucketAlreadyOwnedByYou" not in str(e):
            raise
    if s3.list_objects_v2(Bucket=bucket, Prefix=f"data/{n - 1:07d}").get("KeyCount"):
        return 0.0
    t = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"data/{i % 100:02d}/{i:07d}.csv", Body=b"a,b\n1,2\n"), range(n)))
    return time.monotonic() - t


def listing_floor(bucket: str, prefix: str) -> tuple[int, float]:
    t, n = time.monotonic(), 0
    for page in services.s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        n += len(page.get("Contents", []))
    return n, time.monotonic() - t


async def backfill_once(url: str, store: S3Store, bucket: str, prefix: str, doc) -> tuple[Backfill, float]:
    eng = make_engine(url)
    s = sessions(eng)
    async with s() as session:
        b = await backfills.create(session, LOCAL, Router(doc), bucket, prefix, None, backfills.Filters(), None)
    runner = Runner(s, store, url, BatchSettings())
    t = time.monotonic()
    async with s() as session:
        claimed = await backfills.claim(session, runner.owner, runner.lease)
    await runner.run(claimed)
    took = time.monotonic() - t
    async with s() as session:
        done = await session.get(Backfill, b.id)
    await eng.dispose()
    return done, took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--source", help="s3://BUCKET/PREFIX that already holds the objects (no putting)")
    ap.add_argument("--drop", action="store_true", help="remove the bucket afterwards")
    ap.add_argument("--out", type=Path, default=HERE / "results-backfill.md")
    a = ap.parse_args()
    env = services.up()
    if a.source:
        bucket, _, prefix = a.source.removeprefix("s3://").partition("/")
        put = 0.0
    else:
        bucket, prefix = f"bench-backfill-{a.objects}", "data/"
        put = fill(bucket, a.objects)
    db = f"pravah_bfbench_{uuid.uuid4().hex[:8]}"
    services.psql(f"CREATE DATABASE {db}")
    url = env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[0] + f"/{db}"
    doc = validate(yaml.safe_load(f"""
pipelines:
  - {{name: idle, steps: [read_csv, write_parquet], output: "out/{{stem}}.parquet", runtime: {{pool: idle}}}}
bindings:
  - {{bucket: {bucket}, prefix: "{prefix}", pipeline: idle}}
"""))
    store = S3Store(S3Settings(endpoint=env["PRAVAH_S3__ENDPOINT"], access_key=env["PRAVAH_S3__ACCESS_KEY"], secret_key=env["PRAVAH_S3__SECRET_KEY"]))
    try:
        migrate(url)

        async def go() -> list[tuple[Backfill, float]]:
            async with sessions(make_engine(url))() as session:
                await registry.apply(session, doc, "bench")
            return [await backfill_once(url, store, bucket, prefix, doc) for _ in range(2)]

        listed, floor = listing_floor(bucket, prefix)
        (first, t1), (second, t2) = anyio.run(go)
    finally:
        services.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        if a.drop:
            services.drop_bucket(bucket)
    assert first.created == second.existing == listed, (listed, first.created, second.existing)
    rows = [
        "| what | objects | seconds | per second | target (issue 11) |", "|---|---|---|---|---|",
        f"| boto3 listing alone (a peer's floor; the runner lists through the engine) | {listed:,} | {floor:.2f} | {listed / floor:,.0f} | |",
        f"| backfill: jobs made | {first.created:,} | {t1:.2f} | **{first.created / t1:,.0f}** | ≥ 5,000 jobs/s |",
        f"| same backfill again: all existing | {second.existing:,} | {t2:.2f} | {second.existing / t2:,.0f} | nothing made twice |",
    ]
    head = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; {date.today()}; MinIO and PostgreSQL on 127.0.0.1 "
            "(scripts/stack.py); the runner in the benchmark's process, one page of 1,000 keys per transaction.",
            "Command: `python bench/backfill.py " + (f"--source {a.source}`" if a.source else f"--objects {a.objects}`")
            + (f" (putting the objects took {put:.0f} s, not counted)" if put else " (objects already in the bucket)"), ""]
    table = "\n".join(head + rows)
    print(table)
    a.out.write_text("# Backfill results (real services)\n\n" + table + "\n")


if __name__ == "__main__":
    main()
