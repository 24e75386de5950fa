"""Archives on the real services: a ZIP or tar.gz uploaded to MinIO becomes one object per
member under the output prefix, with the Content-Type its name implies, and a manifest written
last; the API and the completion event list every member by key; members land as new objects,
so a pipeline bound to the output prefix picks them up in turn: the seed story "upload a ZIP of
images, extract them and make thumbnails in S3" (unzip → thumbnail, turned upright by EXIF), and
unzip → gzip for the logs beside them. A zip-slip archive and a zip bomb fail with the error
naming the member or the cap, are not retried, and leave nothing under the prefix."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from .conftest import RUN, Procs, deployment, read_topic, s3_client, three_tenants, wait_for

IN, OUT = f"arc-in-{RUN}", f"arc-out-{RUN}"
PASSWORD = "archive pass 1234"
PIPELINES = f"""
pipelines:
  - name: unzip
    steps: [unzip]
    output: {OUT}/unzipped/{{stem}}/
  - name: untar
    steps: [{{untar: {{max_members: 50}}}}]
    output: {OUT}/untarred/{{stem}}/
  - name: unzip-few
    steps: [unzip]
    output: {OUT}/few/{{stem}}/
    limits: {{max_outputs: 5}}
  - name: gz
    steps: [gzip]
    output: {OUT}/gz/{{key}}.gz
  - name: thumbs
    steps: [{{thumbnail: {{size: 64}}}}]
    output: {OUT}/thumbs/{{key}}
bindings:
  - {{bucket: {IN}, prefix: team/zips/, suffix: .zip, pipeline: unzip}}
  - {{bucket: {IN}, prefix: team/tars/, pipeline: untar}}
  - {{bucket: {IN}, prefix: team/few/, pipeline: unzip-few}}
  - {{bucket: {OUT}, prefix: unzipped/, suffix: .log, pipeline: gz}}
  - {{bucket: {OUT}, prefix: unzipped/, suffix: .jpg, pipeline: thumbs}}
"""
MEMBERS = 300
PHOTOS = 6


def photo(i: int) -> bytes:
    """A 640×480 JPEG whose EXIF says: turn 90° clockwise to view (orientation 6)."""
    from PIL import Image

    img = Image.new("RGB", (640, 480), (20 * i, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


class Archives(Procs):
    headers: dict[str, str]

    def sign_in(self, email: str) -> dict[str, str]:
        r = httpx.post(self.api + "/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def job(self, bucket: str, key: str, timeout: float = 90) -> dict:
        def done() -> dict | None:
            page = httpx.get(self.api + "/v1/jobs", params={"bucket": bucket, "prefix": key}, headers=self.headers).json()
            items = [j for j in page["items"] if j["key"] == key and j["status"] in ("SUCCEEDED", "FAILED")]
            return httpx.get(self.api + f"/v1/jobs/{items[0]['id']}", headers=self.headers).json() if items else None

        return wait_for(done, timeout, f"the job of {bucket}/{key}")


@pytest.fixture(scope="module")
def arc(stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archives]:
    with deployment(Archives, stack, tmp_path_factory.mktemp("archives"), "arc", PIPELINES, three_tenants(IN), PASSWORD,
                    {"front": "api,ingest,relay", "worker": "worker"}, (IN, OUT)) as d:
        d.headers = d.sign_in("root@ops.test")
        yield d


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def listed(prefix: str) -> dict[str, dict]:
    s3, found, token = s3_client(), {}, {}
    while True:
        page = s3.list_objects_v2(Bucket=OUT, Prefix=prefix, **token)
        found.update({o["Key"]: o for o in page.get("Contents", [])})
        if not page.get("IsTruncated"):
            return found
        token = {"ContinuationToken": page["NextContinuationToken"]}


def test_a_zip_becomes_its_members_a_manifest_and_the_next_pipelines_jobs(arc: Archives) -> None:
    members = {f"raw/day{i % 3}/frame{i:04d}.bin": hashlib.sha256(str(i).encode()).digest() * 40 for i in range(MEMBERS - PHOTOS)}
    members.update({f"shoot/day1/img{i:04d}.jpg": photo(i) for i in range(PHOTOS)})
    members["notes/camera.log"] = b"ISO 200\nERROR lens cap\n"
    s3_client().put_object(Bucket=IN, Key="team/zips/photos.zip", Body=zip_bytes(members))

    job = arc.job(IN, "team/zips/photos.zip")
    assert job["status"] == "SUCCEEDED", job["error"]
    by_key = {o["key"]: o for o in job["outputs"]}
    assert set(by_key) == {f"unzipped/photos/{name}" for name in members}
    one = by_key["unzipped/photos/shoot/day1/img0004.jpg"]
    assert (one["size"], one["sha256"], one["content_type"]) == (len(members["shoot/day1/img0004.jpg"]),
                                                                   hashlib.sha256(members["shoot/day1/img0004.jpg"]).hexdigest(), "image/jpeg")
    assert by_key["unzipped/photos/raw/day0/frame0000.bin"]["content_type"] == "application/octet-stream"
    assert job["manifest"]["key"] == "unzipped/photos/.pravah-manifest.json"

    stored = listed("unzipped/photos/")
    assert set(stored) == set(by_key) | {job["manifest"]["key"]}
    s3 = s3_client()
    assert s3.head_object(Bucket=OUT, Key="unzipped/photos/shoot/day1/img0004.jpg")["ContentType"] == "image/jpeg"
    manifest = json.loads(s3.get_object(Bucket=OUT, Key=job["manifest"]["key"])["Body"].read())
    assert manifest["members"] == MEMBERS + 1 and {o["key"] for o in manifest["outputs"]} == set(members)

    n = job["outputs"].index(one)
    dl = httpx.get(arc.api + f"/v1/jobs/{job['id']}/outputs/{n}", headers=arc.headers).json()
    assert hashlib.sha256(httpx.get(dl["url"]).content).hexdigest() == one["sha256"]

    # Who may see the members: the owner's tenant; no credentials 401, a key without the read
    # right 403, another tenant 404 (the job and every output alike).
    ana, oz = arc.sign_in("ana@team.test"), arc.sign_in("oz@other.test")
    assert httpx.get(arc.api + f"/v1/jobs/{job['id']}/outputs/{n}", headers=ana).status_code == 200
    assert len(httpx.get(arc.api + f"/v1/jobs/{job['id']}", headers=ana).json()["outputs"]) == len(job["outputs"])
    writer = httpx.post(arc.api + "/v1/keys", json={"name": "w", "scopes": ["write"]}, headers=ana).json()["key"]
    for path in (f"/v1/jobs/{job['id']}", f"/v1/jobs/{job['id']}/outputs/{n}", f"/v1/jobs/{job['id']}/outputs/{n}/download"):
        assert httpx.get(arc.api + path).status_code == 401, path
        assert httpx.get(arc.api + path, headers={"Authorization": f"Bearer {writer}"}).status_code == 403, path
        assert httpx.get(arc.api + path, headers=oz).status_code == 404, path

    subject = f"{IN}/team/zips/photos.zip"
    events = read_topic(arc.env, "pravah.jobs.succeeded", lambda rs: any(json.loads(r.value)["subject"] == subject for r in rs), 60)
    data = next(json.loads(r.value)["data"] for r in events if json.loads(r.value)["subject"] == subject)
    assert data["outputs_total"] == MEMBERS + 1 and len(data["outputs"]) == MEMBERS + 1
    assert data["manifest"]["key"] == "unzipped/photos/.pravah-manifest.json"

    # Members are new objects under bound prefixes: each photo gets its thumbnail, upright and
    # within 64×64 (640×480 turned is 480×640: 48×64), the log is gzipped.
    from PIL import Image

    for i in range(PHOTOS):
        key = f"unzipped/photos/shoot/day1/img{i:04d}.jpg"
        thumb = arc.job(OUT, key)
        assert thumb["status"] == "SUCCEEDED", thumb["error"]
        assert thumb["outputs"][0]["key"] == f"thumbs/{key}" and thumb["outputs"][0]["content_type"] == "image/jpeg"
        small = Image.open(io.BytesIO(s3.get_object(Bucket=OUT, Key=f"thumbs/{key}")["Body"].read()))
        assert (small.format, small.size) == ("JPEG", (48, 64))
    gz = arc.job(OUT, "unzipped/photos/notes/camera.log")
    assert gz["status"] == "SUCCEEDED", gz["error"]
    out = s3.get_object(Bucket=OUT, Key="gz/unzipped/photos/notes/camera.log.gz")
    assert gzip.decompress(out["Body"].read()) == members["notes/camera.log"]
    assert out["ContentType"] == "application/gzip"


def test_a_tar_gz_is_unpacked_and_its_cap_holds(arc: Archives) -> None:
    def tgz(n: int) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            for i in range(n):
                data = f"row {i}\n".encode() * 10
                info = tarfile.TarInfo(f"logs/{i:03d}.csv")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    s3 = s3_client()
    s3.put_object(Bucket=IN, Key="team/tars/small.tar.gz", Body=tgz(20))
    s3.put_object(Bucket=IN, Key="team/tars/huge.tar.gz", Body=tgz(60))
    small = arc.job(IN, "team/tars/small.tar.gz")
    assert small["status"] == "SUCCEEDED" and len(small["outputs"]) == 20
    assert small["outputs"][0]["content_type"] == "text/csv"
    huge = arc.job(IN, "team/tars/huge.tar.gz")
    assert huge["status"] == "FAILED" and huge["attempts"] == 1, huge
    assert "LimitError" in huge["error"] and "max_members (50)" in huge["error"], huge["error"]
    assert listed("untarred/huge/") == {}


def test_a_pipelines_max_outputs_holds_in_the_engine(arc: Archives) -> None:
    s3_client().put_object(Bucket=IN, Key="team/few/seven.zip", Body=zip_bytes({f"m{i}.txt": b"x" for i in range(7)}))
    job = arc.job(IN, "team/few/seven.zip")
    assert job["status"] == "FAILED" and job["attempts"] == 1, job
    assert "LimitError" in job["error"] and "limits.max_outputs (5)" in job["error"], job["error"]
    assert listed("few/seven/") == {}, "the five written before the sixth are deleted again"


def test_zip_slip_and_zip_bomb_fail_cleanly_and_leave_nothing(arc: Archives) -> None:
    s3 = s3_client()
    s3.put_object(Bucket=IN, Key="team/zips/slip.zip", Body=zip_bytes({"fine.txt": b"ok", "../../../evil.sh": b"rm -rf ~"}))
    s3.put_object(Bucket=IN, Key="team/zips/bomb.zip", Body=zip_bytes({"a.txt": b"ok", "zeros.bin": bytes(50 << 20)}))
    slip = arc.job(IN, "team/zips/slip.zip")
    assert slip["status"] == "FAILED" and slip["attempts"] == 1, slip
    assert '"../../../evil.sh"' in slip["error"] and "climbs out" in slip["error"] and "byte offset" in slip["error"], slip["error"]
    bomb = arc.job(IN, "team/zips/bomb.zip")
    assert bomb["status"] == "FAILED" and bomb["attempts"] == 1, bomb
    assert "LimitError" in bomb["error"] and "max_ratio" in bomb["error"] and "zeros.bin" in bomb["error"], bomb["error"]
    assert listed("unzipped/slip/") == {} and listed("unzipped/bomb/") == {}
    assert not [k for k in listed("") if "evil" in k]
