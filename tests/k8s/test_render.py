"""Every overlay renders with `kubectl kustomize`, and a broken one fails loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8s import manifests, overlays
from k8s.manifests import OVERLAYS


def test_overlays_exist() -> None:
    assert OVERLAYS == ["dev", "prod"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_once_each(overlay: str, rendered: dict[str, list[dict]]) -> None:
    refs = [f"{manifests.ref(d)}@{d['metadata'].get('namespace')}" for d in rendered[overlay]]
    assert refs and len(refs) == len(set(refs))


def test_broken_kustomization_fails(tmp_path: Path) -> None:
    base = os.path.relpath(manifests.K8S / "base", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{base}]\npatches:\n  - target: {{kind: Deployment, name: pravah-api}}\n"
        "    patch: '[{op: replace, path: /spec/template/spec/nodeSelectorz/x, value: y}]'\n")
    with pytest.raises(manifests.RenderError, match="kubectl kustomize"):
        manifests.render(tmp_path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_keeps_its_promise(overlay: str, rendered: dict[str, list[dict]]) -> None:
    assert overlays.SHAPES[overlay](rendered[overlay]) == []


def test_dev_with_two_api_replicas_fails(rendered: dict[str, list[dict]]) -> None:
    manifests.one(rendered["dev"], "Deployment", "pravah-api")["spec"]["replicas"] = 2
    assert any("one replica" in p for p in overlays.dev_problems(rendered["dev"]))


def test_dev_with_a_big_volume_fails(rendered: dict[str, list[dict]]) -> None:
    manifests.one(rendered["dev"], "Cluster", "pravah-db")["spec"]["storage"]["size"] = "100Gi"
    assert any("small" in p for p in overlays.dev_problems(rendered["dev"]))


@pytest.mark.parametrize("break_it, expected", [
    (lambda docs: manifests.one(docs, "KafkaNodePool", "nodes")["spec"].update(replicas=1), "3 nodes"),
    (lambda docs: manifests.one(docs, "Cluster", "pravah-db")["spec"].update(instances=1), "3 PostgreSQL"),
    (lambda docs: manifests.one(docs, "KafkaTopic", "pravah.objects")["spec"].update(replicas=1), "3 replicas"),
    (lambda docs: manifests.one(docs, "Kafka", "pravah")["spec"]["kafka"]["config"].pop("min.insync.replicas"), "min.insync"),
    (lambda docs: manifests.one(docs, "Deployment", "pravah-worker")["spec"]["template"]["spec"].pop("topologySpreadConstraints"), "spreads"),
    (lambda docs: manifests.one(docs, "Deployment", "pravah-api")["spec"].update(replicas=1), "several API"),
])
def test_prod_without_high_availability_fails(rendered: dict[str, list[dict]], break_it, expected: str) -> None:
    break_it(rendered["prod"])
    assert any(expected in p for p in overlays.prod_problems(rendered["prod"]))
