"""The production path end to end against the real services: boto3 uploads into MinIO →
MinIO's event on Kafka → ingest → worker → outputs in MinIO → completion event on Kafka →
the API, with presigned downloads and tenants. Ingest/relay/API run in one `pravah serve`
process and the worker in another, so the worker can be killed mid-job."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
import zstandard

from .conftest import RUN, Procs, free_port, produce, read_topic, s3_client, wait_for

IN, OUT = f"in-{RUN}", f"out-{RUN}"
TOKENS = {"a": "token-a-" + RUN * 2, "b": "token-b-" + RUN * 2, "ops": "token-ops-" + RUN * 2}
PIPELINES = f"""
pipelines:
  - name: to-parquet
    steps: [read_csv, write_parquet]
    output: {OUT}/{{dir}}/{{stem}}.parquet
    retries: 1
  - name: squeeze
    steps: [{{zstd: {{level: 19}}}}]
    output: {OUT}/slow/{{name}}.zst
  - name: typed
    steps: [{{read_csv: {{schema: {{qty: int64}}}}}}, write_parquet]
    output: {OUT}/typed/{{stem}}.parquet
  - name: from-parquet
    steps: [read_parquet, write_csv]
    output: {OUT}/pq/{{stem}}.csv
  - name: errors
    steps: [{{grep: {{pattern: ERROR}}}}, gzip]
    output: {OUT}/logs/{{name}}.gz
bindings:
  - {{bucket: {IN}, prefix: corpus/csv/, pipeline: to-parquet}}
  - {{bucket: {IN}, prefix: corpus/typed/, pipeline: typed}}
  - {{bucket: {IN}, prefix: corpus/pq/, pipeline: from-parquet}}
  - {{bucket: {IN}, prefix: corpus/logs/, pipeline: errors}}
  - {{bucket: {IN}, prefix: a/, suffix: .csv, pipeline: to-parquet}}
  - {{bucket: {IN}, prefix: b/, suffix: .csv, pipeline: to-parquet}}
  - {{bucket: {IN}, prefix: slow/, pipeline: squeeze}}
"""
CSV = b"order_id,region,qty\n1,EU,3\n2,US,5\n3,EU,7\n"


class Services(Procs):
    def get(self, path: str, tenant: str | None = "ops") -> tuple[int, dict | str]:
        req = urllib.request.Request(self.api + path)
        if tenant:
            req.add_header("Authorization", f"Bearer {TOKENS[tenant]}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = r.read().decode()
                return r.status, json.loads(body) if r.headers.get_content_type() == "application/json" else body
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def job_for(self, key: str, tenant: str = "ops") -> dict | None:
        status, page = self.get(f"/v1/jobs?bucket={IN}&prefix={urllib.parse.quote(key)}", tenant)
        assert status == 200, page
        items = [j for j in page["items"] if j["key"] == key]
        assert len(items) <= 1, f"more than one job for {key}: {items}"
        return items[0] if items else None

    def finished(self, key: str, timeout: float = 60) -> dict:
        return wait_for(lambda: (j := self.job_for(key)) and j["status"] in ("SUCCEEDED", "FAILED") and j,
                        timeout, f"job for {key} to finish")


@pytest.fixture(scope="module")
def svc(stack: dict[str, str], pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp = tmp_path_factory.mktemp("e2e")
    tenants = [{"name": "a", "token": TOKENS["a"], "scopes": [f"{IN}/a/"]},
               {"name": "b", "token": TOKENS["b"], "scopes": [f"{IN}/b/"]},
               {"name": "ops", "token": TOKENS["ops"], "scopes": [IN], "rights": ["read", "write", "metrics"]}]
    env = {
        **os.environ, **stack,
        "PRAVAH_DATABASE_URL": pg_url,
        "PRAVAH_KAFKA__GROUP_ID": f"pravah-test-{RUN}",
        "PRAVAH_API__PORT": str(free_port()),
        "PRAVAH_TENANTS": json.dumps(tenants),
        "PRAVAH_WORKER__LEASE_SECONDS": "2",
        "PRAVAH_WORKER__POLL_SECONDS": "0.05",
        "PRAVAH_WORKER__BACKOFF_SECONDS": "0.2",
    }
    (tmp / "pipelines.yaml").write_text(PIPELINES)
    s = Services(env, tmp)
    s.cli("apply", str(tmp / "pipelines.yaml"))
    with s.running(front="api,ingest,relay", worker1="worker"):
        yield s


def test_apply_wrote_the_bucket_notifications(svc: Services) -> None:
    cfg = s3_client().get_bucket_notification_configuration(Bucket=IN)
    rules = sorted(q["Filter"]["Key"]["FilterRules"][0]["Value"] for q in cfg["QueueConfigurations"])
    assert rules == ["a/", "b/", "corpus/csv/", "corpus/logs/", "corpus/pq/", "corpus/typed/", "slow/"]
    assert svc.get("/v1/pipelines")[1][0]["name"] == "to-parquet"


def test_upload_to_completion_event_and_presigned_download(svc: Services) -> None:
    key = "a/sales one+two.csv"
    s3_client().put_object(Bucket=IN, Key=key, Body=CSV)
    subject = f"{IN}/{key}"
    events = read_topic(svc.env, "pravah.jobs.succeeded", lambda rs: any(json.loads(r.value)["subject"] == subject for r in rs), 60)
    (rec,) = [r for r in events if json.loads(r.value)["subject"] == subject]
    event = json.loads(rec.value)
    assert dict(rec.headers)["content-type"] == b"application/cloudevents+json; charset=UTF-8"  # the CloudEvents Kafka binding, structured mode
    job = svc.job_for(key, tenant="a")
    assert job["status"] == "SUCCEEDED" and event["id"] == f"{job['id']}.succeeded"
    assert event["data"]["input"]["size"] == len(CSV) and event["data"]["metrics"]["rows_out"] == 3

    status, dl = svc.get(f"/v1/jobs/{job['id']}/outputs/0?expires=999999", tenant="a")
    assert status == 200 and dl["expires_in"] == 3600  # capped by configuration
    with urllib.request.urlopen(dl["url"], timeout=10) as r:
        data = r.read()
    assert hashlib.sha256(data).hexdigest() == event["data"]["outputs"][0]["sha256"]
    assert dl["output"]["key"] == "a/sales one+two.parquet"
    table = pq.read_table(io.BytesIO(data))
    assert table.column("qty").to_pylist() == [3, 5, 7]


def test_same_event_delivered_twice_makes_one_job(svc: Services) -> None:
    key = "b/dup me.csv"
    s3 = s3_client()
    s3.put_object(Bucket=IN, Key=key, Body=CSV)
    head = s3.head_object(Bucket=IN, Key=key)
    record = {"eventName": "s3:ObjectCreated:Put", "eventTime": "2026-11-22T10:00:00Z",
              "s3": {"bucket": {"name": IN}, "object": {"key": "b/dup+me.csv", "size": len(CSV), "eTag": head["ETag"].strip('"')}}}
    produce(svc.env, "pravah.objects", [json.dumps({"Records": [record]}).encode()] * 2, key=f"{IN}/{key}".encode())
    job = svc.finished(key)
    assert job["status"] == "SUCCEEDED"
    # MinIO's own event and our two copies have all been ingested once the counter moves by 2+.
    wait_for(lambda: metric(svc, 'pravah_ingest_events_total{outcome="duplicates"}') >= 2, 30, "duplicates counted")
    assert svc.job_for(key)["id"] == job["id"]


def test_malformed_payload_goes_to_the_dead_letter_topic(svc: Services) -> None:
    bad = f'{{"Records": [{{"eventName": "s3:ObjectCreated:Put", "run": "{RUN}"'.encode()
    produce(svc.env, "pravah.objects", [bad])
    dlq = read_topic(svc.env, "pravah.objects.dlq", lambda rs: any(r.value == bad for r in rs), 60)
    (rec,) = [r for r in dlq if r.value == bad]
    headers = dict(rec.headers)
    assert b"not JSON" in headers["pravah-reason"] and headers["pravah-origin"].startswith(b"pravah.objects/")
    # ... and the consumer kept going:
    s3_client().put_object(Bucket=IN, Key="a/after-bad.csv", Body=CSV)
    assert svc.finished("a/after-bad.csv")["status"] == "SUCCEEDED"


def test_unbound_key_makes_no_job(svc: Services) -> None:
    before = metric(svc, 'pravah_ingest_events_total{outcome="unrouted"}')
    s3_client().put_object(Bucket=IN, Key="a/readme.txt", Body=b"not a csv")  # prefix bound, suffix not
    wait_for(lambda: metric(svc, 'pravah_ingest_events_total{outcome="unrouted"}') > before, 30, "the event to be counted")
    assert svc.job_for("a/readme.txt") is None


def test_malformed_csv_fails_with_line_and_failed_event(svc: Services) -> None:
    """Mostly bad rows (past max_bad_rows, 50 %): the job fails at once, naming the first one."""
    key = "a/ragged.csv"
    s3_client().put_object(Bucket=IN, Key=key, Body=b"order_id,region,qty\n1,EU,3\n2,US\n3\n")
    job = svc.finished(key)
    assert job["status"] == "FAILED" and job["attempts"] == 1  # bad input is not retried
    assert "LimitError" in job["error"] and "line 3" in job["error"], job["error"]
    subject = f"{IN}/{key}"
    events = read_topic(svc.env, "pravah.jobs.failed", lambda rs: any(json.loads(r.value)["subject"] == subject for r in rs), 30)
    (event,) = [json.loads(r.value) for r in events if json.loads(r.value)["subject"] == subject]
    assert event["data"]["error"] == job["error"]


def test_bad_rows_are_quarantined_next_to_the_output(svc: Services) -> None:
    """A few bad rows: the job succeeds; the rejects object sits next to the output and the
    completion event says how many rows went there."""
    key = "a/dirty.csv"
    body = b"order_id,region,qty\n1,EU,3\n2,US\n3,EU,4\n4,\"US,5\n5,EU,6\n"
    s3_client().put_object(Bucket=IN, Key=key, Body=body)
    job = svc.finished(key)
    assert job["status"] == "SUCCEEDED", job
    detail = svc.get(f"/v1/jobs/{job['id']}")[1]
    assert detail["rows_rejected"] == 2 and detail["report"]["rows_out"] == 3
    rejects = s3_client().get_object(Bucket=detail["rejects"]["bucket"], Key=detail["rejects"]["key"])["Body"].read()
    status, d = svc.get(f"/v1/jobs/{job['id']}/rejects")  # a presigned GET of the same object
    assert status == 200 and urllib.request.urlopen(d["url"], timeout=10).read() == rejects
    assert svc.get(f"/v1/jobs/{job['id']}/rejects", tenant=None)[0] == 401
    assert svc.get(f"/v1/jobs/{job['id']}/rejects", tenant="b")[0] == 404  # another tenant's scope
    lines = [json.loads(x) for x in rejects.splitlines()]
    assert [(r["line"], r["raw"], r["byte_offset"]) for r in lines] == [(3, "2,US", 27), (5, '4,"US,5', 39)]
    subject = f"{IN}/{key}"
    events = read_topic(svc.env, "pravah.jobs.succeeded", lambda rs: any(json.loads(r.value)["subject"] == subject for r in rs), 30)
    (event,) = [json.loads(r.value) for r in events if json.loads(r.value)["subject"] == subject]
    assert event["data"]["rejects"]["rows"] == 2 and event["data"]["rejects"]["key"] == detail["rejects"]["key"]
    assert event["data"]["metrics"]["rows_rejected"] == 2


def test_worker_killed_mid_job_completes_exactly_once(svc: Services) -> None:
    key = "slow/big.txt"
    body = base64.b64encode(os.urandom(4_500_000))  # ~6 MB: zstd -19 takes a few seconds
    s3_client().put_object(Bucket=IN, Key=key, Body=body)
    wait_for(lambda: (j := svc.job_for(key)) and j["status"] == "RUNNING", 60, "the job to start")
    svc.kill("worker1")
    svc.start("worker2", "worker")
    job = svc.finished(key, timeout=120)
    assert job["status"] == "SUCCEEDED" and job["attempts"] == 2
    detail = svc.get(f"/v1/jobs/{job['id']}")[1]
    assert any("taken over" in line for line in detail["log"])
    out = s3_client().get_object(Bucket=OUT, Key="slow/big.txt.zst")["Body"].read()
    assert zstandard.ZstdDecompressor().decompressobj().decompress(out) == body
    events = read_topic(svc.env, "pravah.jobs.succeeded",
                        lambda rs: any(json.loads(r.value)["data"]["job_id"] == job["id"] for r in rs), 30)
    ids = {json.loads(r.value)["id"] for r in events if json.loads(r.value)["data"]["job_id"] == job["id"]}
    assert ids == {f"{job['id']}.succeeded"}


def test_tenants_see_only_their_own_jobs(svc: Services) -> None:
    key = "a/tenant-a.csv"
    s3_client().put_object(Bucket=IN, Key=key, Body=CSV)
    job = svc.finished(key)
    assert svc.get(f"/v1/jobs/{job['id']}", "a")[0] == 200
    assert svc.get(f"/v1/jobs/{job['id']}", "b")[0] == 404
    assert svc.get(f"/v1/jobs/{job['id']}/outputs/0", "b")[0] == 404
    assert all(j["key"].startswith("b/") for j in svc.get(f"/v1/jobs?bucket={IN}", "b")[1]["items"])
    assert svc.get(f"/v1/jobs/{job['id']}", None)[0] == 401
    assert svc.get("/v1/jobs", None)[0] == 401
    assert [b["prefix"] for b in svc.get("/v1/bindings", "b")[1]] == ["b/"]


def metric(svc: Services, name: str) -> float:
    _, text = svc.get("/metrics", "ops")
    for line in str(text).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


ROWS = b"order_id,region,qty\n" + b"".join(b"%d,EU,%d\n" % (i, i * 7919 % 1000) for i in range(50000))
GZ, ZST = gzip.compress(ROWS), zstandard.ZstdCompressor().compress(ROWS)
# key, body, expected status, a fragment the error must contain (the place or the cause)
CORPUS = [
    ("corpus/csv/ünïcødé näme.csv", CSV, "SUCCEEDED", None),
    ("corpus/csv/100% + sure (1).csv", CSV, "SUCCEEDED", None),
    ("corpus/csv/zero-bytes.csv", b"", "FAILED", "empty input"),
    ("corpus/csv/ragged.csv", b"a,b\n1,2\n3\n", "SUCCEEDED", 1),  # one bad row of two: set aside
    ("corpus/csv/mostly-ragged.csv", b"a,b\n1\n2\n3,4\n", "FAILED", "over max_bad_rows"),
    ("corpus/csv/bad-utf8.csv", b"a,b\n1,\xff\xfe\n", "SUCCEEDED", 0),  # never UTF-8: read as windows-1252
    ("corpus/csv/truncated.csv.gz", GZ[: len(GZ) // 2], "FAILED", "InputFormatError"),
    ("corpus/csv/truncated.csv.zst", ZST[: len(ZST) // 2], "FAILED", "InputFormatError"),
    ("corpus/typed/violation.csv", b"qty\n1\n2\nmany\n", "SUCCEEDED", 1),
    ("corpus/typed/all-wrong.csv", b"qty\nmany\nfew\n", "FAILED", 'value "many" is not a valid int64 in column "qty" (field 1)'),
    ("corpus/pq/not-parquet.parquet", b"PAR1 but not really", "FAILED", "not a readable Parquet"),
    ("corpus/logs/zero-bytes.log", b"", "SUCCEEDED", None),
]


def test_bad_input_corpus_gets_clear_outcomes(svc: Services) -> None:
    s3 = s3_client()
    for key, data, _, _ in CORPUS:
        s3.put_object(Bucket=IN, Key=key, Body=data)
    outcomes = []
    for key, _, status, fragment in CORPUS:
        job = svc.finished(key)
        outcomes.append((key, job["status"], job["attempts"], job["error"]))
        assert job["status"] == status, (key, job)
        if status == "FAILED":
            assert fragment in job["error"] and job["attempts"] == 1, (key, job)  # bad input is not retried
        elif fragment is not None:  # the bad rows set aside
            assert svc.get(f"/v1/jobs/{job['id']}")[1]["rows_rejected"] == fragment, key
    alive = {n: p.poll() is None for n, p in svc.procs.items() if n != "worker1"}  # worker1 is killed on purpose
    assert all(alive.values()), f"a process died: {alive}"
    print("\n".join(f"{k}: {st} after {n} attempt(s) {e or ''}" for k, st, n, e in outcomes))


def test_metrics_count_jobs_from_the_database_and_ingest_lag(svc: Services) -> None:
    assert metric(svc, 'pravah_jobs{status="SUCCEEDED"}') >= 3  # the uploads of the tests above
    assert metric(svc, 'pravah_jobs{status="FAILED"}') >= 1
    _, text = svc.get("/metrics", "ops")
    lags = [line for line in str(text).splitlines() if line.startswith("pravah_ingest_lag_messages{")]
    assert lags and all(float(line.split()[-1]) >= 0 for line in lags)
