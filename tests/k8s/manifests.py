"""Rendering the overlays with `kubectl kustomize`, and finding things in what comes out."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


class RenderError(Exception):
    pass


def render(path: Path) -> list[dict]:
    """The documents `kubectl kustomize path` prints (fresh objects each call); its error when it fails."""
    return load_all(kustomize(path.resolve()))


def load_all(text: str) -> list[dict]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


@functools.cache
def kustomize(path: Path) -> str:
    """`kubectl kustomize path`'s output, once per path and process."""
    r = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RenderError(f"kubectl kustomize {path}: {r.stderr.strip()}")
    return r.stdout


def find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict], kind: str, name: str) -> dict:
    found = find(docs, kind, name)
    if len(found) != 1:
        raise LookupError(f"expected one {kind} {name}, found {len(found)}")
    return found[0]


def pod_templates(docs: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(workload, pod spec) for every workload that carries a pod template."""
    for d in docs:
        if d["kind"] in WORKLOADS:
            yield d, d["spec"]["template"]["spec"]


def containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def pravah_workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"].get("app.kubernetes.io/name") == "pravah"]


def ref(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"
