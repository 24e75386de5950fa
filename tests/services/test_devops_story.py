"""The DevOps seed story on the real services: "every day, compress the log files over 100 MB"
is a backfill with a size filter (scaled down: over 1 MB) into a gzip pipeline that says
`delete_input: true`. The big logs end up gzipped and their originals gone — each only after its
output is committed and SUCCEEDED recorded; the small ones are not touched; an object that
changed after its job read it is kept (the store deletes only the version processed)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from pravah.settings import S3Settings
from pravah.storage import S3Store

from .conftest import RUN, Procs, deployment, s3_client, three_tenants, wait_for

IN, OUT = f"ops-in-{RUN}", f"ops-out-{RUN}"
PASSWORD = "devops pass 1234"
PIPELINES = f"""
pipelines:
  - name: squeeze
    steps: [gzip]
    output: {OUT}/{{key}}.gz
    delete_input: true
bindings:
  - {{bucket: {IN}, prefix: team/logs/, pipeline: squeeze}}
"""


@pytest.fixture(scope="module")
def ops(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Procs]:
    # No ingest: only the daily backfill makes jobs here.
    with deployment(Procs, stack, tmp_path_factory.mktemp("devops"), "ops", PIPELINES, three_tenants(IN), PASSWORD,
                    {"front": "api", "worker": "worker"}, (IN, OUT)) as d:
        yield d


def listed(bucket: str, prefix: str) -> set[str]:
    return {o["Key"] for o in s3_client().list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}


def test_big_logs_are_compressed_and_their_originals_removed(ops: Procs) -> None:
    s3 = s3_client()
    big = {f"team/logs/app-{i}.log": (f"2026-12-0{i} ERROR disk {i}\n" * 60_000).encode() for i in range(1, 4)}
    small = {f"team/logs/tiny-{i}.log": b"ok\n" * 10 for i in range(3)}
    for key, body in {**big, **small}.items():
        s3.put_object(Bucket=IN, Key=key, Body=body)
    assert all(len(b) > 1_000_000 for b in big.values())

    ops.cli("login", "oz@other.test", "--password-stdin", stdin=PASSWORD + "\n")  # a tenant of other/: not its prefix
    refused = ops.cli("backfill", f"s3://{IN}/team/logs/", "--min-size", "1MB", check=False)
    assert refused.returncode != 0
    ops.cli("login", "ana@team.test", "--password-stdin", stdin=PASSWORD + "\n")
    ops.cli("backfill", f"s3://{IN}/team/logs/", "--min-size", "1MB")

    wait_for(lambda: listed(OUT, "team/logs/") == {f"{k}.gz" for k in big} and not (listed(IN, "team/logs/") & set(big)), 90,
             "the big logs gzipped and their originals deleted")
    assert listed(IN, "team/logs/") == set(small), "the small logs stay, untouched"
    for key, body in big.items():
        assert gzip.decompress(s3.get_object(Bucket=OUT, Key=f"{key}.gz")["Body"].read()) == body


def test_an_object_changed_since_its_job_read_it_is_kept(ops: Procs) -> None:
    s3 = s3_client()
    store = S3Store(S3Settings(endpoint=ops.env["PRAVAH_S3__ENDPOINT"], access_key=ops.env["PRAVAH_S3__ACCESS_KEY"],
                               secret_key=ops.env["PRAVAH_S3__SECRET_KEY"]))
    first = s3.put_object(Bucket=IN, Key="team/logs/changing.log", Body=b"one")["ETag"].strip('"')
    s3.put_object(Bucket=IN, Key="team/logs/changing.log", Body=b"two, uploaded while the job ran")
    assert store.delete_processed(IN, "team/logs/changing.log", first, None) is False
    assert "team/logs/changing.log" in listed(IN, "team/logs/")
    now = s3.head_object(Bucket=IN, Key="team/logs/changing.log")["ETag"].strip('"')
    assert store.delete_processed(IN, "team/logs/changing.log", now, None) is True
    assert "team/logs/changing.log" not in listed(IN, "team/logs/")
