"""Rendered overlays and the pinned operators' CRD schemas, once per session."""

from __future__ import annotations

import copy

import pytest

import crds
import k8s_dryrun
import kube
from k8s import manifests, schemas


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kube: needs the real kube-apiserver and etcd (scripts/kube.py builds them once, ~12 min cold on one core)")


@pytest.fixture(scope="session")
def _rendered() -> dict[str, list[dict]]:
    return {name: manifests.render(manifests.K8S / "overlays" / name) for name in manifests.OVERLAYS}


@pytest.fixture
def rendered(_rendered: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """overlay name -> its documents; a copy, so a test may break it."""
    return copy.deepcopy(_rendered)


@pytest.fixture(scope="session")
def crd_index() -> schemas.CrdIndex:
    # Obtains the CRDs on a fresh machine (minutes, once; cached): a tool that cannot be had fails here.
    return schemas.CrdIndex(crds.ensure())


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A real kube-apiserver (and etcd) with the pinned operators' CRDs installed, for the session."""
    s = kube.Server(tmp_path_factory.mktemp("kube"))
    try:
        s.up()
        k8s_dryrun.install_crds(s)
        yield s
    finally:
        s.down()
