"""Dry-runs on the real services (`pravah serve` processes, PostgreSQL, Kafka, MinIO with its
notifications): the preview is the job's own output, the scratch object is written under
_pravah/dry-runs/ and swept after its TTL, no job row and no metric come of it — not even
from MinIO's event for the scratch object, which a whole-bucket binding would otherwise take —
another tenant's object is a 404, a bad unsaved spec a 422 at its field, and the CLI prints it."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from .conftest import deployment, Procs, produce, psql, read_topic, RUN, s3_client, three_tenants, wait_for

IN, OUT = f"dr-in-{RUN}", f"dr-out-{RUN}"
PASSWORD = "dry run pass 1234"
PIPELINES = f"""
pipelines:
  - name: orders
    steps:
      - read_csv
      - filter: {{where: "status = 'shipped'"}}
      - derive: {{column: total, expr: "qty * price"}}
      - select: {{columns: [id, region, qty, total]}}
      - write_parquet
    output: {OUT}/orders/{{stem}}.parquet
bindings:
  - {{bucket: {IN}, pipeline: orders}}    # the whole bucket: _pravah/ keys too, were they not reserved
"""
CSV = ("id,region,status,qty,price\n" + "".join(
    f"{i},{['EU', 'US', 'APAC'][i % 3]},{'shipped' if i % 3 else 'pending'},{i % 11},{i % 97}.25\n" for i in range(3000))).encode()
GAUGES = ("pravah_jobs{", "pravah_oldest_pending_seconds", "pravah_ingest_lag_messages")


class DryRuns(Procs):
    def headers(self, email: str) -> dict[str, str]:
        r = httpx.post(self.api + "/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def dry_run(self, who: str | dict[str, str], **body: object) -> httpx.Response:
        return httpx.post(self.api + "/v1/dry-runs", json=body, headers=self.headers(who) if isinstance(who, str) else who, timeout=120)

    def jobs(self, where: str = "true") -> list[str]:
        return psql(f"SELECT key FROM jobs WHERE bucket = '{IN}' AND {where} ORDER BY key", db=self.env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]).split()

    def counters(self) -> dict[str, str]:
        """Every pravah_* sample of the API process (which also runs ingest), gauges aside."""
        text = httpx.get(self.api + "/metrics", headers=self.headers("root@ops.test")).text
        return {k: v for k, _, v in (line.rpartition(" ") for line in text.splitlines())
                if k.startswith("pravah_") and not k.startswith(GAUGES)}


@pytest.fixture(scope="module")
def dr(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[DryRuns]:
    with deployment(DryRuns, stack, tmp_path_factory.mktemp("dryrun"), "dr", PIPELINES, three_tenants(IN), PASSWORD,
                    {"front": "api,ingest", "worker": "worker"}, (IN, OUT), PRAVAH_DRY_RUN__TTL_SECONDS="5",
                    PRAVAH_DRY_RUN__SWEEP_SECONDS="0.5", PRAVAH_DRY_RUN__MAX_INPUT_BYTES="1MiB") as d:
        yield d  # type: ignore[misc]


def job_output(d: DryRuns, key: str) -> tuple[dict, bytes]:
    h = d.headers("ana@team.test")

    def done() -> dict | None:
        items = httpx.get(d.api + "/v1/jobs", params={"prefix": key}, headers=h).json()["items"]
        return items[0] if items and items[0]["status"] in ("SUCCEEDED", "FAILED") else None

    job = wait_for(done, 60, f"the job of {key}")
    assert job["status"] == "SUCCEEDED", job
    job = httpx.get(d.api + f"/v1/jobs/{job['id']}", headers=h).json()
    return job, s3_client().get_object(Bucket=OUT, Key=job["output_key"])["Body"].read()


def test_the_preview_is_the_jobs_output_and_nothing_else_happens(dr: DryRuns) -> None:
    s3 = s3_client()
    s3.put_object(Bucket=IN, Key="team/orders.csv", Body=CSV)
    job, data = job_output(dr, "team/orders.csv")  # what the engine writes for a real job
    written = pq.read_table(io.BytesIO(data))
    before, jobs_before = dr.counters(), dr.jobs()

    ana = dr.headers("ana@team.test")
    took = []
    for _ in range(3):  # the first one also starts this process's store client and sweep
        t = time.monotonic()
        r = dr.dry_run(ana, bucket=IN, key="team/orders.csv", pipeline="orders", rows=50)
        took.append(time.monotonic() - t)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["succeeded"] and got["source"] == "applied" and got["version"] == job["pipeline_version"]
    assert [(c["name"], c["type"]) for c in got["columns"]] == [("id", "int64"), ("region", "string"), ("qty", "int64"), ("total", "float64")]
    assert got["rows"] == [list(row.values()) for row in written.slice(0, 50).to_pylist()]
    assert (got["rows_in"], got["rows_out"], got["rows_filtered"], got["rows_rejected"]) == (3000, written.num_rows, 3000 - written.num_rows, 0)
    out = got["output"]
    assert out["bucket"] == IN and out["key"].startswith("_pravah/dry-runs/") and out["key"].endswith("/orders.parquet")
    assert out["sha256"] == job["report"]["outputs"][0]["sha256"]  # byte for byte the job's output
    assert s3.head_object(Bucket=IN, Key=out["key"])["ContentLength"] == out["size"] == len(data)
    assert httpx.get(out["url"]).content == data  # the presigned download of the whole output

    # MinIO announced the scratch object (the whole bucket is bound) ...
    topic = dr.env["PRAVAH_KAFKA__OBJECT_TOPIC"]
    read_topic(dr.env, topic, lambda rs: any(out["key"].encode() in r.value for r in rs), 30)
    time.sleep(3)  # ... and ingest, which reads that topic in milliseconds, made nothing of it:
    assert dr.jobs() == jobs_before and not dr.jobs("key LIKE '\\_pravah/%'")
    assert dr.counters() == before
    # Swept once its TTL has passed.
    wait_for(lambda: not s3.list_objects_v2(Bucket=IN, Prefix=out["key"]).get("KeyCount"), 30, "the sweep")
    print(f"dry-run of 3,000 rows through the API: {', '.join(f'{x * 1000:.0f}' for x in took)} ms (in the API: {got['duration_ms']} ms)")


def test_an_event_for_a_scratch_key_makes_no_job(dr: DryRuns) -> None:
    s3 = s3_client()
    s3.put_object(Bucket=IN, Key="team/marker.csv", Body=CSV[:200])
    head = s3.head_object(Bucket=IN, Key="team/marker.csv")

    def record(key: str) -> bytes:
        return json.dumps({"Records": [{"eventName": "s3:ObjectCreated:Put", "eventTime": "2026-11-23T12:00:00Z",
                                        "s3": {"bucket": {"name": IN}, "object": {"key": key, "size": 200, "eTag": head["ETag"].strip('"')}}}]}).encode()

    # One Kafka key, so one partition: once the marker's job exists, the event before it was ingested.
    produce(dr.env, dr.env["PRAVAH_KAFKA__OBJECT_TOPIC"], [record("_pravah/dry-runs/20200101T000000Z-abc/x.csv"), record("team/marker.csv")],
            key=f"{IN}/scratch".encode())
    wait_for(lambda: "team/marker.csv" in dr.jobs(), 60, "the marker's job")
    assert not dr.jobs("key LIKE '\\_pravah/%'")


def test_who_may_and_what_is_refused(dr: DryRuns) -> None:
    s3 = s3_client()
    s3.put_object(Bucket=IN, Key="other/theirs.csv", Body=CSV[:500])
    s3.put_object(Bucket=IN, Key="team/big.csv", Body=CSV * 20)  # 1.5 MB
    # Another tenant's object, and one that is not there: the same 404.
    assert dr.dry_run("ana@team.test", bucket=IN, key="other/theirs.csv", pipeline="orders").status_code == 404
    assert dr.dry_run("ana@team.test", bucket=IN, key="team/absent.csv", pipeline="orders").status_code == 404
    assert dr.dry_run("oz@other.test", bucket=IN, key="other/theirs.csv", pipeline="orders").status_code == 200
    assert dr.dry_run("root@ops.test", bucket=IN, key="other/theirs.csv", pipeline="orders").status_code == 200
    # An unsaved spec with a broken expression: 422 at that field.
    spec = {"name": "draft", "steps": ["read_csv", {"filter": {"where": "qty >> 2"}}, "write_csv"], "output": f"{OUT}/draft/{{stem}}.csv"}
    r = dr.dry_run("ana@team.test", bucket=IN, key="team/orders.csv", spec=spec)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "spec", "steps", 1, "filter", "where"], r.text
    # The same spec mended runs, as written, without being applied.
    spec["steps"][1] = {"filter": {"where": "qty > 9"}}
    r = dr.dry_run("ana@team.test", bucket=IN, key="team/orders.csv", spec=spec, rows=2)
    assert r.status_code == 200 and r.json()["source"] == "inline" and all(row[3] > 9 for row in r.json()["rows"])
    # Over the input cap: 413 naming the setting.
    r = dr.dry_run("ana@team.test", bucket=IN, key="team/big.csv", pipeline="orders")
    assert r.status_code == 413 and "PRAVAH_DRY_RUN__MAX_INPUT_BYTES" in r.json()["detail"]
    assert not dr.jobs("key LIKE '\\_pravah/%'")


def test_the_cli_through_the_api(dr: DryRuns, tmp_path: Path) -> None:
    s3_client().put_object(Bucket=IN, Key="team/cli.csv", Body=CSV)
    dr.cli("login", "ana@team.test", "--password-stdin", stdin=PASSWORD + "\n")
    text = dr.cli("dry-run", "orders", f"{IN}/team/cli.csv", "--rows", "3").stdout
    assert "schema: id int64, region string, qty int64, total float64" in text and "rows in 3,000 · out 2,000 · filtered 1,000 · rejected 0" in text
    assert "3 of 2,000 row(s) shown; there are more" in text
    bad = tmp_path / "draft.yaml"
    bad.write_text(f"name: draft\nsteps: [read_csv, {{filter: {{where: 'qty >'}}}}, write_csv]\noutput: {OUT}/x.csv\n")
    r = dr.cli("dry-run", "draft", f"{IN}/team/cli.csv", "--spec", str(bad), check=False)
    assert r.returncode == 1 and "body.spec.steps.1.filter.where" in r.stderr and "(HTTP 422)" in r.stderr, r.stderr
    r = dr.cli("dry-run", "orders", f"{IN}/other/theirs.csv", check=False)
    assert r.returncode == 1 and "(HTTP 404)" in r.stderr
