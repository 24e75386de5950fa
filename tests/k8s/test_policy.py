"""Pod security, resources, probes, disruption budgets, network policies, RBAC and secrets."""

from __future__ import annotations

import pytest

from k8s import manifests, policy
from k8s.manifests import OVERLAYS, one

README = (manifests.ROOT / "README.md").read_text()


@pytest.mark.parametrize("check", policy.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_policy_holds(overlay: str, check, rendered) -> None:
    assert check(rendered[overlay]) == []


def api_container(docs: list[dict]) -> dict:
    return one(docs, "Deployment", "pravah-api")["spec"]["template"]["spec"]["containers"][0]


def worker_pod(docs: list[dict]) -> dict:
    return one(docs, "Deployment", "pravah-worker")["spec"]["template"]["spec"]


@pytest.mark.parametrize("break_it, check, expected", [
    (lambda d: worker_pod(d)["securityContext"].update(runAsUser=0), policy.pod_security_problems, "runAsUser"),
    (lambda d: worker_pod(d)["securityContext"].pop("runAsNonRoot"), policy.pod_security_problems, "runAsNonRoot"),
    (lambda d: worker_pod(d)["securityContext"].pop("seccompProfile"), policy.pod_security_problems, "seccompProfile"),
    (lambda d: api_container(d)["securityContext"].update(allowPrivilegeEscalation=True), policy.pod_security_problems, "allowPrivilegeEscalation"),
    (lambda d: api_container(d)["securityContext"].update(readOnlyRootFilesystem=False), policy.pod_security_problems, "readOnlyRootFilesystem"),
    (lambda d: api_container(d)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]), policy.pod_security_problems, "capabilities"),
    (lambda d: api_container(d).pop("volumeMounts"), policy.pod_security_problems, "/tmp"),
    (lambda d: worker_pod(d).pop("automountServiceAccountToken"), policy.pod_security_problems, "automountServiceAccountToken"),
    (lambda d: api_container(d)["resources"].pop("limits"), policy.resources_problems, "memory limit"),
    (lambda d: api_container(d).pop("readinessProbe"), policy.probe_problems, "readinessProbe"),
    (lambda d: worker_pod(d)["containers"][0].pop("livenessProbe"), policy.probe_problems, "pravah-worker container pravah: serves ports but has no HTTP livenessProbe"),
    (lambda d: api_container(d)["livenessProbe"]["httpGet"].update(path="/readyz"), policy.probe_problems, "must GET /healthz"),
    (lambda d: api_container(d)["livenessProbe"]["httpGet"].update(port="web"), policy.probe_problems, "not one of its ports"),
    (lambda d: one(d, "PodDisruptionBudget", "pravah-relay")["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/component": "relays"}),
     policy.disruption_problems, "no PodDisruptionBudget"),
    (lambda d: d.remove(one(d, "NetworkPolicy", "pravah-default-deny")), policy.network_problems, "default-deny"),
    (lambda d: d.remove(one(d, "NetworkPolicy", "pravah-ingest")), policy.network_problems, "its own role"),
    (lambda d: one(d, "NetworkPolicy", "pravah-api")["spec"]["ingress"][0].pop("ports"), policy.network_problems, "every port"),
    (lambda d: d.append({"kind": "RoleBinding", "metadata": {"name": "x"}, "roleRef": {"kind": "Role", "name": "pravah-pools"},
                         "subjects": [{"kind": "ServiceAccount", "name": "pravah"}]}),
     policy.rbac_problems, "needs no rights"),
    (lambda d: one(d, "ServiceAccount", "pravah").pop("automountServiceAccountToken"), policy.rbac_problems, "automountServiceAccountToken"),
    (lambda d: one(d, "Role", "pravah-pools")["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
     policy.rbac_problems, "get on core/secrets is more than the pools need"),
    (lambda d: one(d, "Role", "pravah-pools")["rules"][0]["verbs"].append("*"), policy.rbac_problems, "* on apps/deployments"),
    (lambda d: one(d, "RoleBinding", "pravah-pools")["roleRef"].update(kind="ClusterRole", name="edit"), policy.rbac_problems, "not ClusterRole edit"),
    (lambda d: one(d, "Deployment", "pravah-relay")["spec"]["template"]["spec"].update(automountServiceAccountToken=True),
     policy.pod_security_problems, "only the controller calls the API server"),
    (lambda d: d.append({"kind": "Secret", "metadata": {"name": "pravah-s3"}, "stringData": {"secret-key": "x"}}), policy.secret_problems, "do not belong"),
])
def test_broken_policy_fails(rendered, break_it, check, expected: str) -> None:
    break_it(rendered["prod"])
    assert any(expected in p for p in check(rendered["prod"]))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_readme_tells_how_to_create_every_secret(overlay: str, rendered) -> None:
    assert policy.undocumented_secrets(rendered[overlay], README) == set()


def test_secret_missing_from_readme_fails(rendered) -> None:
    assert policy.undocumented_secrets(rendered["prod"], README.replace("secret generic pravah-s3", "")) == {"pravah-s3"}
