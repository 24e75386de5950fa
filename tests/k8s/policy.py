"""Rules the schemas cannot express: the restricted pod security profile, resources, probes,
disruption budgets, network policies, least RBAC, and no secret values in the repository."""

from __future__ import annotations

import re

from k8s.manifests import containers, find, pod_templates, pravah_workloads, ref


def selects(selector: dict, labels: dict) -> bool:
    """A matchLabels selector (the only kind these manifests use) against a set of labels."""
    if set(selector) - {"matchLabels"}:
        raise ValueError(f"selector {selector} uses more than matchLabels")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def pod_security_problems(docs: list[dict]) -> list[str]:
    """Kubernetes' restricted profile, plus a read-only root filesystem with /tmp on an emptyDir."""
    problems = []
    for wl, pod in pod_templates(docs):
        psc = pod.get("securityContext", {})
        if pod.get("automountServiceAccountToken") is not False and not talks_to_api_server(wl):
            problems.append(f"{ref(wl)}: automountServiceAccountToken must be false (only the controller calls the API server)")
        emptydirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for c in containers(pod):
            where = f"{ref(wl)} container {c['name']}"
            sc = {**psc, **c.get("securityContext", {})}
            if sc.get("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot must be true")
            if not isinstance(sc.get("runAsUser"), int) or sc["runAsUser"] <= 0:
                problems.append(f"{where}: runAsUser must be a numeric non-root user")
            if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile must be RuntimeDefault")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation must be false")
            if sc.get("privileged"):
                problems.append(f"{where}: must not be privileged")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem must be true")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []) or caps.get("add"):
                problems.append(f"{where}: capabilities must drop ALL and add none")
            if not any(m["mountPath"] == "/tmp" and m["name"] in emptydirs for m in c.get("volumeMounts", [])):
                problems.append(f"{where}: /tmp must be an emptyDir (the root filesystem is read-only)")
    return problems


def resources_problems(docs: list[dict]) -> list[str]:
    problems = []
    for wl, pod in pod_templates(docs):
        for c in containers(pod):
            res = c.get("resources", {})
            if not {"cpu", "memory"} <= set(res.get("requests", {})) or "memory" not in res.get("limits", {}):
                problems.append(f"{ref(wl)} container {c['name']}: needs cpu and memory requests and a memory limit")
    return problems


def probe_problems(docs: list[dict]) -> list[str]:
    """A container that serves HTTP is probed: liveness on /healthz, readiness on /readyz (Pravah's
    routes; MinIO's own under /minio/health), on a port it declares."""
    problems = []
    for wl, pod in pod_templates(docs):
        for c in containers(pod):
            if not c.get("ports"):
                continue
            names = {p.get("name") for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
            pravah = wl["metadata"]["labels"].get("app.kubernetes.io/name") == "pravah"
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = c.get(probe, {}).get("httpGet")
                if get is None:
                    problems.append(f"{ref(wl)} container {c['name']}: serves ports but has no HTTP {probe}")
                    continue
                if pravah and get["path"] != path:
                    problems.append(f"{ref(wl)} container {c['name']}: {probe} must GET {path}, not {get['path']}")
                if get["port"] not in names:
                    problems.append(f"{ref(wl)} container {c['name']}: {probe} port {get['port']!r} is not one of its ports")
    return problems


def disruption_problems(docs: list[dict]) -> list[str]:
    pdbs = find(docs, "PodDisruptionBudget")
    return [f"{ref(wl)}: no PodDisruptionBudget selects its pods" for wl in pravah_workloads(docs)
            if not any(selects(p["spec"]["selector"], wl["spec"]["template"]["metadata"]["labels"]) for p in pdbs)]


def network_problems(docs: list[dict]) -> list[str]:
    """Every Pravah pod is under a default deny both ways, and a policy of its own role opens what it uses."""
    problems = []
    policies = find(docs, "NetworkPolicy")
    for wl in pravah_workloads(docs):
        labels = wl["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        if not any(set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress")
                   for p in mine):
            problems.append(f"{ref(wl)}: no default-deny NetworkPolicy (Ingress and Egress, no rules) selects its pods")
        if not any(p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == labels.get("app.kubernetes.io/component")
                   for p in mine):
            problems.append(f"{ref(wl)}: no NetworkPolicy of its own role")
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            if not rule.get("ports"):
                problems.append(f"NetworkPolicy {p['metadata']['name']}: an ingress rule without ports opens every port")
    return problems


CONTROLLER_ACCOUNT = "pravah-controller"
# What the pool reconciler (services/pravah/pools/reconcile.py) does, and nothing more: read the
# default pool's Deployment and ScaledObject, list its own objects, apply (create + patch), prune.
POOL_RIGHTS = {("apps", "deployments"): {"get", "list", "create", "patch", "delete"},
               ("policy", "poddisruptionbudgets"): {"list", "create", "patch", "delete"},
               ("keda.sh", "scaledobjects"): {"get", "list", "create", "patch", "delete"}}


def talks_to_api_server(wl: dict) -> bool:
    return wl["spec"]["template"]["spec"].get("serviceAccountName") == CONTROLLER_ACCOUNT


def rbac_problems(docs: list[dict]) -> list[str]:
    """Only the controller has a token and a binding, to a namespaced Role over the pools' kinds
    with the verbs the reconciler uses; every other ServiceAccount has neither."""
    problems = []
    accounts = {d["metadata"]["name"]: d for d in find(docs, "ServiceAccount")}
    roles = {d["metadata"]["name"]: d for d in find(docs, "Role")}
    for wl, pod in pod_templates(docs):
        name = pod.get("serviceAccountName")
        if name is not None and name not in accounts:
            problems.append(f"{ref(wl)}: ServiceAccount {name} is not in the manifests")
    for sa in accounts.values():
        if sa.get("automountServiceAccountToken") is not False:
            problems.append(f"ServiceAccount {sa['metadata']['name']}: automountServiceAccountToken must be false (the pod that needs it says so)")
    for binding in find(docs, "ClusterRoleBinding"):
        problems.append(f"{ref(binding)}: Pravah needs no cluster-wide rights")
    for binding in find(docs, "RoleBinding"):
        for subject in binding.get("subjects", []):
            if subject.get("kind") == "ServiceAccount" and subject["name"] in accounts and subject["name"] != CONTROLLER_ACCOUNT:
                problems.append(f"{ref(binding)}: binds ServiceAccount {subject['name']}, which needs no rights")
        role = binding["roleRef"]
        if role["kind"] != "Role" or role["name"] not in roles:
            problems.append(f"{ref(binding)}: must bind a Role of the manifests (namespaced), not {role['kind']} {role['name']}")
    for role in roles.values():
        for rule in role.get("rules", []):
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    allowed = POOL_RIGHTS.get((group, resource), set())
                    extra = set(rule.get("verbs", [])) - allowed
                    if extra or rule.get("resourceNames") == []:
                        problems.append(f"{ref(role)}: {', '.join(sorted(extra))} on {group or 'core'}/{resource} is more than the pools need")
    return problems


def secret_problems(docs: list[dict]) -> list[str]:
    """No Secret in the repository: every credential is a reference, created by the operator or by hand."""
    return [f"{ref(d)}: secret values do not belong in the repository; reference a Secret created in the cluster"
            for d in docs if d["kind"] == "Secret" or (d["kind"] == "ConfigMap" and any(
                w in k.lower() for k in d.get("data", {}) for w in ("password", "secret", "token")))]


def referenced_secrets(docs: list[dict]) -> set[str]:
    names = {r["name"] for d in find(docs, "TriggerAuthentication") for r in d["spec"].get("secretTargetRef", [])}
    for _, pod in pod_templates(docs):
        for c in containers(pod):
            names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
            names |= {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
    return names


def undocumented_secrets(docs: list[dict], readme: str) -> set[str]:
    """Referenced Secrets that neither CloudNativePG makes nor the README tells how to create."""
    made_by_cnpg = {c["metadata"]["name"] + "-app" for c in find(docs, "Cluster")}
    return referenced_secrets(docs) - made_by_cnpg - set(re.findall(r"secret generic ([\w-]+)", readme))


CHECKS = (pod_security_problems, resources_problems, probe_problems, disruption_problems, network_problems, rbac_problems, secret_problems)
