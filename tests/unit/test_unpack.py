"""unzip / untar from the CLI (`pravah run`) and in the pipeline language: the output is a prefix,
every member lands under it with a manifest, and a zip-slip archive is refused naming the member
and leaves nothing; a pipeline that unpacks may write as many objects as its archive may hold."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from pravah.pipelines import Pipeline

PRAVAH = Path(sys.executable).parent / "pravah"
PIPELINES = """\
pipelines:
  - name: unzip
    steps: [unzip]
    output: outbox/{stem}/
  - name: untar
    steps: [{untar: {max_members: 3}}]
    output: outbox/{stem}/
"""


def pravah(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PRAVAH), *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PRAVAH_PIPELINES": str(cwd / "pipelines.yaml"), "HOME": str(cwd)})


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_run_unzips_into_the_output_folder_and_refuses_a_slip(tmp_path: Path) -> None:
    (tmp_path / "pipelines.yaml").write_text(PIPELINES)
    with zipfile.ZipFile(tmp_path / "photos.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(25):
            z.writestr(f"shoot/img{i:02d}.jpg", bytes([i]) * 1000)
    r = pravah(tmp_path, "run", "unzip", "photos.zip", "-o", "out/photos/")
    assert r.returncode == 0, r.stderr
    assert files(tmp_path / "out") == ["photos/.pravah-manifest.json", *(f"photos/shoot/img{i:02d}.jpg" for i in range(25))]
    assert "… and 15 more" in r.stdout and "manifest (the whole set)" in r.stdout
    assert (tmp_path / "out/photos/shoot/img07.jpg").read_bytes() == bytes([7]) * 1000

    with zipfile.ZipFile(tmp_path / "slip.zip", "w") as z:
        z.writestr("ok.txt", "fine")
        z.writestr("../outside.txt", "gotcha")
    r = pravah(tmp_path, "run", "unzip", "slip.zip", "-o", "out/slip/")
    assert r.returncode == 1
    assert "InputFormatError" in r.stderr and '"../outside.txt"' in r.stderr and "refused" in r.stderr, r.stderr
    assert not (tmp_path / "out/slip").exists() or files(tmp_path / "out/slip") == []
    assert not (tmp_path / "out/outside.txt").exists()

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in range(5):
            info = tarfile.TarInfo(f"f{i}.txt")
            t.addfile(info, io.BytesIO(b""))
    (tmp_path / "five.tar").write_bytes(buf.getvalue())
    r = pravah(tmp_path, "run", "untar", "five.tar", "-o", "out/five/")
    assert r.returncode == 1 and "LimitError" in r.stderr and "max_members (3)" in r.stderr, r.stderr
    assert not (tmp_path / "out/five").exists() or files(tmp_path / "out/five") == []


def test_an_unpacking_pipeline_writes_under_a_prefix_and_may_write_many() -> None:
    with pytest.raises(ValidationError, match="end the output with /"):
        Pipeline(name="u", steps=[{"op": "unzip"}], output="out/{stem}.d")
    assert Pipeline(name="u", steps=[{"op": "unzip"}], output="out/{stem}/").limits.max_outputs == 100_000
    assert Pipeline(name="u", steps=[{"op": "untar", "max_members": 70}], output="out/{stem}/").limits.max_outputs == 70
    said = Pipeline(name="u", steps=[{"op": "unzip"}], output="out/{stem}/", limits={"max_outputs": 5})
    assert said.limits.max_outputs == 5
    assert Pipeline(name="g", steps=[{"op": "gzip"}], output="out/{key}.gz").limits.max_outputs == 1
