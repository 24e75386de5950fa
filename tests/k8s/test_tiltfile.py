"""The Tiltfile, evaluated with stub builtins and cross-checked with the dev overlay and the Dockerfile."""

from __future__ import annotations

import pytest
import starlark

from k8s import tilt
from k8s.manifests import ROOT

TILTFILE = (ROOT / "Tiltfile").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_tiltfile_matches_the_dev_overlay(rendered) -> None:
    t = tilt.evaluate(TILTFILE)
    assert [b["ref"] for b in t.builds] == ["pravah"]
    assert {r["workload"] for r in t.resources} >= {"pravah-api", "pravah-ingest", "pravah-worker", "pravah-relay"}
    assert tilt.problems(t, rendered["dev"], DOCKERFILE) == []


@pytest.mark.parametrize("old, new", [
    ("docker_build(\n", "load('ext://restart_process', 'docker_build_with_restart')\ndocker_build(\n"),
    ("k8s_resource('pravah-relay', port_forwards=['9103:9100'], labels=['pravah'])",
     "k8s_resource('pravah-relay', port_forwards=['9103:9100'], label=['pravah'])"),
    ("sync('services/pravah', SITE_PACKAGES + '/pravah')", "sync('services/pravah', SITE_PACKAGES + '/pravah', 'extra')"),
])
def test_tiltfile_tilt_would_refuse_fails(old: str, new: str) -> None:
    assert old in TILTFILE
    with pytest.raises((starlark.StarlarkError, TypeError)):
        tilt.evaluate(TILTFILE.replace(old, new))


@pytest.mark.parametrize("old, new, expected", [
    ("k8s_resource('pravah-relay',", "k8s_resource('pravah-relays',", "names no workload"),
    ("port_forwards=['8787:8787', '9100:9100']", "port_forwards=['8787:8080']", "a port its pods do not serve"),
    ("'pravah-db:cluster'", "'pravah-pg:cluster'", "matches []"),
    ("    'pravah',\n    '.',", "    'pravah-app',\n    '.',", "no workload uses"),
    ("target='dev'", "target='debug'", "not a stage"),
    ("python3.13", "python3.12", "site-packages"),
    ("sync('services/pravah',", "sync('services/pravha',", "does not exist"),
    ("c['securityContext']['readOnlyRootFilesystem'] = False", "pass", "read-only root filesystem"),
    ("c['securityContext']['readOnlyRootFilesystem'] = False", "c['securityContext']['runAsUser'] = 0", "beyond readOnlyRootFilesystem"),
    ("kustomize('k8s/overlays/dev')", "kustomize('k8s/overlays/prod')", "dev overlay"),
])
def test_tiltfile_out_of_step_with_the_manifests_fails(rendered, old: str, new: str, expected: str) -> None:
    assert old in TILTFILE
    assert any(expected in p for p in tilt.problems(tilt.evaluate(TILTFILE.replace(old, new)), rendered["dev"], DOCKERFILE))
