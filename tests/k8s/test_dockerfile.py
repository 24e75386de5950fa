"""The Dockerfile: hadolint, its stages and what they promise, and the .dockerignore."""

from __future__ import annotations

import pytest

from k8s import dockerfile_checks as checks
from k8s.manifests import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text()


def test_hadolint_is_clean() -> None:
    assert checks.hadolint(DOCKERFILE) == []


@pytest.mark.parametrize("old, new, expected", [
    ("FROM python:${PYTHON}-slim-trixie AS runtime", "FROM python:latest AS runtime", "DL3007"),
    ("apt-get install -y --no-install-recommends", "apt-get install -y", "DL3015"),
    ("WORKDIR /src", "RUN cd /src", "DL3003"),
])
def test_hadolint_catches_a_broken_dockerfile(old: str, new: str, expected: str) -> None:
    assert old in DOCKERFILE
    assert any(expected in p for p in checks.hadolint(DOCKERFILE.replace(old, new)))


def test_structure_holds(rendered) -> None:
    assert checks.structure_problems(DOCKERFILE, rendered["prod"]) == []


RUNTIME_USER = "USER 10001:10001\n# The API"


@pytest.mark.parametrize("old, new, expected", [
    (RUNTIME_USER, "USER pravah\n# The API", "numeric non-root USER"),
    (RUNTIME_USER, "USER 0\n# The API", "numeric non-root USER"),
    ("EXPOSE 8787 9100", "EXPOSE 8080", "EXPOSE [8080]"),
    ('ENTRYPOINT ["pravah"]', "ENTRYPOINT pravah", "ENTRYPOINT"),
    ("    --mount=type=cache,target=/src/target \\\n", "", "cache mount at /src/target"),
    ("--mount=type=bind,from=build,", "--mount=type=bind,from=wheels,", "'wheels', which is not an earlier stage"),
    ("FROM runtime AS release", "FROM build AS release", "compilers would ship"),
    ("FROM python:${PYTHON}-slim-trixie AS runtime", "FROM rust:1.95-slim-trixie AS runtime", "slim Python image"),
    ("WORKDIR /tmp\n", "RUN apt-get install -y --no-install-recommends gcc\nWORKDIR /tmp\n", "compiler"),
    ("FROM rust:1.95-slim-trixie AS build", "FROM python:3.13-slim-trixie AS build", "Rust stage"),
])
def test_broken_structure_fails(rendered, old: str, new: str, expected: str) -> None:
    assert old in DOCKERFILE
    assert any(expected in p for p in checks.structure_problems(DOCKERFILE.replace(old, new), rendered["prod"]))


def test_exposed_ports_follow_the_pods(rendered) -> None:
    api = next(d for d in rendered["prod"] if d["kind"] == "Deployment" and d["metadata"]["name"] == "pravah-api")
    api["spec"]["template"]["spec"]["containers"][0]["ports"][1]["containerPort"] = 9200
    assert any("EXPOSE" in p for p in checks.structure_problems(DOCKERFILE, rendered["prod"]))


def test_dockerignore_lets_every_copy_source_through() -> None:
    assert checks.dockerignore_problems(DOCKERFILE, DOCKERIGNORE) == []


def test_dockerignore_hiding_a_copy_source_fails() -> None:
    assert checks.dockerignore_problems(DOCKERFILE, DOCKERIGNORE.replace("!services\n", "")) == [
        "COPY services: .dockerignore leaves it out of the build context"]


@pytest.mark.parametrize("path, ignored", [
    ("services/pravah/jobs.py", False), ("services/pravah/__pycache__/jobs.cpython-311.pyc", True),
    ("services/pravah/_engine.abi3.so", True), (".venv/bin/python", True), ("engine/fuzz/corpus", True), ("Cargo.lock", False),
])
def test_dockerignore_rules(path: str, ignored: bool) -> None:
    rules = [line for line in DOCKERIGNORE.splitlines() if line and not line.startswith("#")]
    assert checks.ignored(path, rules) is ignored
