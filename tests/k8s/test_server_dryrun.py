"""The server-side dry run (scripts/k8s_dryrun.py) on a real kube-apiserver with the pinned
operators' CRDs: every overlay passes, and what only an API server refuses (a CRD's CEL rule, the
server's own validation of built-in kinds) fails it, though the offline schema checks accept it.

The server is built once (scripts/kube.py; ~12 min cold on one core, cached) and started per module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import k8s_dryrun
import kube
from k8s import schemas
from k8s.manifests import OVERLAYS, ROOT, one

pytestmark = [pytest.mark.slow, pytest.mark.kube]


def refused(server: kube.Server, docs: list[dict]) -> list[k8s_dryrun.Result]:
    k8s_dryrun.create_namespaces(server, docs)
    results = k8s_dryrun.dry_run(server, docs)
    assert len(results) >= len(docs)
    return [r for r in results if not r.accepted]


def test_server_reports_its_pinned_version(server: kube.Server) -> None:
    assert f"v{kube.KUBERNETES}" in server.kubectl("version", "-o", "json").stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_the_server_dry_run(server: kube.Server, rendered: dict[str, list[dict]], overlay: str) -> None:
    k8s_dryrun.create_namespaces(server, rendered[overlay])
    results = k8s_dryrun.dry_run(server, rendered[overlay])
    assert [(r.ref, r.message) for r in results if not r.accepted] == []
    assert [(r.ref, r.warnings) for r in results if r.warnings] == []  # pod security (restricted) and deprecations
    assert len(results) == len(rendered[overlay])


def _selector_mismatch(d: dict) -> None:
    d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = "apii"


@pytest.mark.parametrize("kind, name, break_it, expected", [
    # CEL rules of the pinned CRDs (x-kubernetes-validations)
    ("ScaledObject", "pravah-worker", lambda d: d["spec"].update(minReplicaCount=d["spec"]["maxReplicaCount"] + 1),
     "minReplicaCount must be less than or equal to maxReplicaCount"),
    ("Cluster", "pravah-db", lambda d: d["spec"].update(imageName="ghcr.io/cloudnative-pg/postgresql:17.6", imageCatalogRef={"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog", "name": "pg", "major": 17}),
     "imageName and imageCatalogRef are mutually exclusive"),
    # the API server's own validation of built-in kinds
    ("Deployment", "pravah-api", _selector_mismatch, "`selector` does not match template `labels`"),
    ("PodDisruptionBudget", "pravah-api", lambda d: d["spec"].update(minAvailable=1, maxUnavailable=1), "minAvailable and maxUnavailable cannot be both set"),
])
def test_what_only_the_server_refuses_fails(server, rendered, crd_index, kind: str, name: str, break_it, expected: str) -> None:
    doc = one(rendered["prod"], kind, name)
    break_it(doc)
    assert schemas.problems(doc, crd_index) == []  # the offline checks let it through
    bad = refused(server, [doc])
    assert [r.ref for r in bad] == [f"{kind}/{name} (pravah)"]
    assert expected in bad[0].message


def test_one_refusal_among_many_is_named(server, rendered) -> None:
    one(rendered["prod"], "ScaledObject", "pravah-ingest")["spec"].update(minReplicaCount=99, maxReplicaCount=12)
    assert [r.ref for r in refused(server, rendered["prod"])] == ["ScaledObject/pravah-ingest (pravah)"]


def test_command_exits_non_zero_on_a_refusal(rendered, tmp_path: Path) -> None:
    """The whole command, as `make k8s-dryrun` runs it (a server of its own), on a broken manifest."""
    doc = one(rendered["prod"], "ScaledObject", "pravah-worker")
    doc["spec"]["minReplicaCount"] = doc["spec"]["maxReplicaCount"] + 1
    (tmp_path / "broken.yaml").write_text(k8s_dryrun.dump([doc]))
    r = subprocess.run([sys.executable, ROOT / "scripts" / "k8s_dryrun.py", "-f", tmp_path / "broken.yaml"], capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REFUSED ScaledObject/pravah-worker (pravah)" in r.stdout
    assert "1 of 1 refused" in r.stdout


def test_warnings_are_named_by_object(server, rendered) -> None:
    """Pod security: the namespace warns at the restricted level, and each warning names its object."""
    ns = one(rendered["prod"], "Namespace", "pravah")
    api = one(rendered["prod"], "Deployment", "pravah-api")
    api["spec"]["template"]["spec"]["hostNetwork"] = True
    docs = [ns, api, one(rendered["prod"], "Deployment", "pravah-worker")]
    k8s_dryrun.create_namespaces(server, docs)
    results = k8s_dryrun.dry_run(server, docs)
    assert all(r.accepted for r in results)  # baseline is enforced on pods; a Deployment only gets the warning
    assert [(r.ref, r.warnings) for r in results if r.warnings] == [
        ("Deployment/pravah-api (pravah)", ['would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true)'])]
