"""The operator versions are pinned once (k8s/versions.yaml): the CRDs are fetched at those
versions and the README's Kubernetes section names them."""

from __future__ import annotations

import crds
from k8s import manifests, schemas

README = (manifests.ROOT / "README.md").read_text()
NAMES = {"strimzi": "Strimzi", "cloudnative-pg": "CloudNativePG", "keda": "KEDA", "prometheus-operator": "prometheus-operator"}


def unnamed_versions(readme: str) -> list[str]:
    section = readme.split("## Kubernetes", 1)[-1].split("\n## ", 1)[0]
    return [f"{NAMES[k]} {v}" for k, v in schemas.VERSIONS["operators"].items() if f"{NAMES[k]} {v}" not in section]


def test_readme_names_the_pinned_versions() -> None:
    assert unnamed_versions(README) == []


def test_readme_with_another_version_fails() -> None:
    assert unnamed_versions(README.replace("Strimzi 1.2.0", "Strimzi 0.45.0")) == ["Strimzi 1.2.0"]


def test_crds_come_from_the_pinned_releases(crd_index) -> None:
    ops = schemas.VERSIONS["operators"]
    folders = {p.name for p in crds.ensure()}
    assert folders == {f"cnpg-prometheus-operator-{ops['cloudnative-pg']}-{ops['prometheus-operator']}", f"keda-{ops['keda']}", f"strimzi-{ops['strimzi']}"}


def test_readme_names_the_api_server_of_the_dry_run() -> None:
    tools = schemas.VERSIONS["tools"]
    section = README.split("## Kubernetes", 1)[-1].split("\n## ", 1)[0]
    assert f"kube-apiserver {tools['kube-apiserver']}" in section and f"etcd {tools['etcd']}" in section
    assert str(tools["kube-apiserver"]).startswith(f"{schemas.VERSIONS['kubernetes']}.")
