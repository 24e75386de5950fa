"""The front door end to end on the real services, through the CLI and the HTTP API as a
person would use them: an operator creates a tenant and a user, the user signs in, uploads a
few hundred MB in parts (the client killed midway, then resumed), watches the job live and
downloads the output; SSE order and resume; cancel of a running job; abort and oversize."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import deployment, PRAVAH, Procs, psql, read_topic, RUN, s3_client, three_tenants, wait_for

IN, OUT = f"fd-in-{RUN}", f"fd-out-{RUN}"
PASSWORD = "front door 1234"
PIPELINES = f"""
pipelines:
  - name: errors
    steps: [{{grep: {{pattern: ERROR}}}}, gzip]
    output: {OUT}/{{dir}}/{{name}}.errors.gz
  - name: squeeze
    steps: [{{zstd: {{level: 19}}}}]
    output: {OUT}/{{dir}}/{{name}}.zst
bindings:
  - {{bucket: {IN}, prefix: team/logs/, pipeline: errors}}
  - {{bucket: {IN}, prefix: team/slow/, pipeline: squeeze}}
  - {{bucket: {IN}, prefix: other/slow/, pipeline: squeeze}}
"""


class FrontDoor(Procs):
    def token(self, email: str) -> str:
        r = httpx.post(self.api + "/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


@pytest.fixture(scope="module")
def fd(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontDoor]:
    with deployment(FrontDoor, stack, tmp_path_factory.mktemp("frontdoor"), "fd", PIPELINES, three_tenants(IN), PASSWORD,
                    {"front": "api,ingest,relay", "worker": "worker"}, (IN, OUT),
                    PRAVAH_UPLOADS__MAX_BYTES="2GiB", PRAVAH_WORKER__LEASE_SECONDS="3") as f:
        yield f  # type: ignore[misc]


def write_log(path: Path, mb: int) -> bytes:
    """A deterministic log of `mb` MB; returns its ERROR lines (the expected output)."""
    errors = []
    with path.open("wb") as f:
        i = 0
        while f.tell() < mb * 1_000_000:
            block = []
            for j in range(i, i + 10_000):
                level = "ERROR" if j % 97 == 0 else "INFO"
                line = f"2026-11-23T10:{j // 60 % 60:02d}:{j % 60:02d}Z {level} request {j} took {j * 7 % 1000} ms path=/api/v1/items/{j % 5000}\n".encode()
                block.append(line)
                if level == "ERROR":
                    errors.append(line)
            f.write(b"".join(block))
            i += 10_000
    return b"".join(errors)


def test_sign_in_upload_killed_and_resumed_watch_and_download(fd: FrontDoor, tmp_path: Path) -> None:
    big = tmp_path / "service.log"
    expected = write_log(big, 300)
    fd.cli("login", "ana@team.test", "--password-stdin", stdin=PASSWORD + "\n")
    assert "ana@team.test" in fd.cli("whoami").stdout
    # First attempt: killed once a few parts are stored.
    with (tmp_path / "upload1.log").open("wb") as log:
        p = subprocess.Popen([str(PRAVAH), "upload", str(big), "--to", f"{IN}/team/logs/", "--parallel", "2"], env=fd.env, stdout=log, stderr=log)
    token = fd.token("ana@team.test")

    def some_parts() -> dict | None:
        ups = httpx.get(fd.api + "/v1/uploads?status=OPEN", headers={"Authorization": f"Bearer {token}"}).json()
        if not ups:
            return None
        u = httpx.get(fd.api + f"/v1/uploads/{ups[0]['id']}", headers={"Authorization": f"Bearer {token}"}).json()
        return u if len(u["stored_parts"]) >= 3 else None

    first = wait_for(some_parts, 60, "three parts to be stored")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert first["parts"] == 18 and first["part_size"] == 16 << 20 and first["key"] == "team/logs/service.log"
    stored_before = set(httpx.get(fd.api + f"/v1/uploads/{first['id']}", headers={"Authorization": f"Bearer {token}"}).json()["stored_parts"])
    assert 3 <= len(stored_before) < 18

    resumed = fd.cli("upload", str(big), "--to", f"{IN}/team/logs/", "--resume")
    text = resumed.stdout + resumed.stderr
    assert f"resuming upload {first['id']}: {len(stored_before)} of 18 parts already stored" in text, text
    assert "→ errors@" in text and "job " in text
    job_id = next(line.split()[1] for line in text.splitlines() if line.strip().startswith("job "))
    done = httpx.get(fd.api + f"/v1/uploads/{first['id']}", headers={"Authorization": f"Bearer {token}"}).json()
    assert done["status"] == "COMPLETED" and done["job_id"] == job_id

    watched = fd.cli("jobs", "watch", job_id[:10], check=False)
    assert watched.returncode == 0 and "SUCCEEDED" in watched.stdout, watched.stdout + watched.stderr
    head = s3_client().head_object(Bucket=IN, Key="team/logs/service.log")
    assert head["ContentLength"] == big.stat().st_size
    fd.cli("jobs", "download", job_id, "--to", str(tmp_path))
    assert gzip.decompress((tmp_path / "service.log.errors.gz").read_bytes()) == expected
    # The people's link: access checked, then a redirect to a short-lived attachment URL.
    r = httpx.get(fd.api + f"/v1/jobs/{job_id}/outputs/0/download", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 302 and "response-content-disposition=attachment" in r.headers["location"]
    other = fd.token("oz@other.test")
    assert httpx.get(fd.api + f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert httpx.get(fd.api + f"/v1/uploads/{first['id']}", headers={"Authorization": f"Bearer {other}"}).status_code == 404


def sse(api: str, path: str, token: str, last_id: int | None = None, stop_after: int | None = None, timeout: float = 120) -> list[tuple[str, int | None, dict]]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    out: list[tuple[str, int | None, dict]] = []
    with httpx.stream("GET", api + path, headers=headers, timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        event, ident, data = "message", None, []
        for line in r.iter_lines():
            if line == "":
                if data:
                    out.append((event, ident, json.loads("\n".join(data))))
                    if event == "end" or (stop_after is not None and len(out) >= stop_after):
                        return out
                event, ident, data = "message", None, []
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("id: "):
                ident = int(line[4:])
            elif line.startswith("data: "):
                data.append(line[6:])
    return out


def slow_object(key: str, mb: int = 8) -> None:
    body = os.urandom(mb * 750_000).hex().encode()  # incompressible-ish text: zstd -19 takes seconds
    s3_client().put_object(Bucket=IN, Key=key, Body=body)


def job_of(fd: FrontDoor, token: str, key: str) -> dict | None:
    items = httpx.get(fd.api + "/v1/jobs", params={"prefix": key}, headers={"Authorization": f"Bearer {token}"}).json()["items"]
    return items[0] if items else None


def test_live_progress_in_order_and_a_reconnect_misses_and_repeats_nothing(fd: FrontDoor) -> None:
    token = fd.token("ana@team.test")
    slow_object("team/slow/a.txt")
    job = wait_for(lambda: job_of(fd, token, "team/slow/a.txt"), 60, "the job")
    first = sse(fd.api, f"/v1/jobs/{job['id']}/events", token, stop_after=3)
    assert first[0][0] == "snapshot" and first[0][2]["job_id"] == job["id"]
    last = max(i for _, i, _ in first if i is not None)
    rest = sse(fd.api, f"/v1/jobs/{job['id']}/events", token, last_id=last)
    assert rest[-1][0] == "end" and rest[-1][2]["status"] == "SUCCEEDED"
    ids = [i for _, i, _ in first[1:] + rest if i is not None]
    assert ids == sorted(set(ids)), "events out of order or repeated"
    # Nothing missed: the streams saw every event the table holds past the snapshot.
    table = psql(f"SELECT id FROM job_events WHERE job_id = '{job['id']}' AND id > {first[0][1]} ORDER BY id",
                 db=fd.env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1]).split()
    assert ids == [int(x) for x in table]
    progress = [d for e, _, d in first + rest if e == "progress"]
    assert progress, "no progress event from a job of several seconds"
    assert [p["bytes_in"] for p in progress] == sorted(p["bytes_in"] for p in progress)
    assert all(0 <= p["percent"] <= 100 and p["input_size"] == 12_000_000 for p in progress)
    statuses = [d["status"] for e, _, d in first + rest if e == "status"]
    assert statuses[-1] == "SUCCEEDED"


def test_cancel_a_running_job(fd: FrontDoor) -> None:
    token = fd.token("oz@other.test")
    slow_object("other/slow/b.txt", mb=16)
    job = wait_for(lambda: (j := job_of(fd, token, "other/slow/b.txt")) and j["status"] == "RUNNING" and j, 60, "the job to run")
    t = time.monotonic()
    r = httpx.post(fd.api + f"/v1/jobs/{job['id']}/cancel", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 202 and r.json()["cancel_requested_at"]
    events = sse(fd.api, f"/v1/jobs/{job['id']}/events", token)
    assert events[-1][0] == "end" and events[-1][2]["status"] == "CANCELLED"
    assert time.monotonic() - t < 10
    detail = httpx.get(fd.api + f"/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"}).json()
    assert detail["status"] == "CANCELLED" and any("cancel requested by oz@other.test" in line for line in detail["log"])
    subject = f"{IN}/other/slow/b.txt"
    found = read_topic(fd.env, "pravah.jobs.failed", lambda rs: any(json.loads(r.value)["subject"] == subject for r in rs), 30)
    (event,) = [json.loads(r.value) for r in found if json.loads(r.value)["subject"] == subject]
    assert event["type"] == "pravah.job.cancelled" and event["id"] == f"{job['id']}.cancelled"


def test_abort_oversize_and_hostile_names(fd: FrontDoor) -> None:
    h = {"Authorization": f"Bearer {fd.token('ana@team.test')}"}
    u = httpx.post(fd.api + "/v1/uploads", json={"filename": "x.log", "size": 40 << 20, "prefix": f"{IN}/team/logs/"}, headers=h).json()
    urls = httpx.post(fd.api + f"/v1/uploads/{u['id']}/parts", json={"parts": [1]}, headers=h).json()["urls"]
    assert httpx.put(urls["1"], content=b"z" * (16 << 20)).status_code == 200
    r = httpx.post(fd.api + f"/v1/uploads/{u['id']}/complete", headers=h)
    assert r.status_code == 409 and "2 part(s) missing: 2, 3" in r.json()["detail"]
    assert httpx.delete(fd.api + f"/v1/uploads/{u['id']}", headers=h).status_code == 204
    pending = s3_client().list_multipart_uploads(Bucket=IN).get("Uploads", [])
    assert all(p["UploadId"] != u["id"] for p in pending) and all(p["Key"] != "team/logs/x.log" for p in pending)
    assert httpx.post(fd.api + f"/v1/uploads/{u['id']}/parts", json={"parts": [2]}, headers=h).status_code == 409
    r = httpx.post(fd.api + "/v1/uploads", json={"filename": "huge.csv", "size": 3 << 30}, headers=h)
    assert r.status_code == 413 and "PRAVAH_UPLOADS__MAX_BYTES" in r.json()["detail"]
    for name in ["../../etc/passwd", "a\x00b.csv", ".hidden", "..", "bidi\u202egnp.exe", "x" * 300]:
        r = httpx.post(fd.api + "/v1/uploads", json={"filename": name, "size": 1}, headers=h)
        if name == "../../etc/passwd":
            assert r.status_code == 201 and r.json()["key"] == "team/passwd", r.text  # only the base name is kept
        else:
            assert r.status_code == 422, (name, r.text)
    for prefix in [f"{IN}/team/../other/", f"/{IN}/team/", f"{IN}/other/", "Not A Bucket/x/"]:
        r = httpx.post(fd.api + "/v1/uploads", json={"filename": "a.csv", "size": 1, "prefix": prefix}, headers=h)
        assert r.status_code in (404, 422), (prefix, r.text)


def test_abandoned_uploads_expire_here_and_in_the_store(fd: FrontDoor) -> None:
    import anyio

    from pravah.db.session import make_engine, sessions
    from pravah.settings import load_settings
    from pravah.storage import S3Store
    from pravah.uploads import sessions as uploads

    h = {"Authorization": f"Bearer {fd.token('ana@team.test')}"}
    u = httpx.post(fd.api + "/v1/uploads", json={"filename": "left.log", "size": 20 << 20, "prefix": f"{IN}/team/logs/"}, headers=h).json()
    url = httpx.post(fd.api + f"/v1/uploads/{u['id']}/parts", json={"parts": [1]}, headers=h).json()["urls"]["1"]
    assert httpx.put(url, content=b"y" * (16 << 20)).status_code == 200
    assert u["expires_at"] > u["created_at"]
    psql(f"UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = '{u['id']}'", db=fd.env["PRAVAH_DATABASE_URL"].rsplit("/", 1)[1])

    async def sweep() -> int:
        eng = make_engine(fd.env["PRAVAH_DATABASE_URL"])
        async with sessions(eng)() as s:
            n = await uploads.expire(s, S3Store(load_settings(s3={k.split("__")[1].lower(): v for k, v in fd.env.items() if k.startswith("PRAVAH_S3__")}).s3))
        await eng.dispose()
        return n

    assert anyio.run(sweep) >= 1
    got = httpx.get(fd.api + f"/v1/uploads/{u['id']}", headers=h).json()
    assert got["status"] == "EXPIRED"
    assert all(p["Key"] != "team/logs/left.log" for p in s3_client().list_multipart_uploads(Bucket=IN).get("Uploads", []))
    r = httpx.post(fd.api + f"/v1/uploads/{u['id']}/parts", json={"parts": [2]}, headers=h)
    assert r.status_code == 409 and "EXPIRED" in r.json()["detail"]
