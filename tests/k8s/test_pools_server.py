"""The worker-pool reconciler against a real kube-apiserver, as the controller's own ServiceAccount
(k8s/base/controller.yaml: its Role, bound in a namespace of the test's own, a token from the
TokenRequest API): pools created, updated, drift corrected, the template's changes followed,
pools no longer declared pruned, nothing else touched; the Role is enough and no wider; the
`pravah serve controller` process does it from the live document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio
import pytest
import yaml

import kube
from k8s.manifests import one
from pravah import registry
from pravah.db.session import make_engine, migrate, sessions
from pravah.pipelines import Document, Runtime, validate
from pravah.pools.controller import reconcile_once
from pravah.pools.desired import POOL_LABEL, runnable_query
from pravah.pools.reconcile import KubeError, Outcome, Pools, connect

pytestmark = [pytest.mark.slow, pytest.mark.kube]

HEAVY = Runtime(pool="heavy", cpu="4", memory="16Gi", min_workers=1, max_workers=5, concurrency=1)
OWN = ["Deployment/pravah-worker-heavy", "PodDisruptionBudget/pravah-worker-heavy", "ScaledObject/pravah-worker-heavy"]
ACCOUNT = "pravah-controller"


def in_namespace(doc: dict, ns: str) -> dict:
    doc["metadata"]["namespace"] = ns
    for s in doc.get("subjects", []):
        s["namespace"] = ns
    return doc


@pytest.fixture
def namespace(server: kube.Server, rendered: dict[str, list[dict]], tmp_path: Path) -> tuple[str, Path]:
    """A fresh namespace holding the prod overlay's default worker (Deployment + ScaledObject) and
    the controller's ServiceAccount, Role and RoleBinding; a kubeconfig with that account's token."""
    ns = f"pools-{uuid.uuid4().hex[:8]}"
    docs = rendered["prod"]
    wanted = [one(docs, "Deployment", "pravah-worker"), one(docs, "ScaledObject", "pravah-worker"),
              one(docs, "TriggerAuthentication", "pravah-db"), one(docs, "ServiceAccount", ACCOUNT),
              one(docs, "Role", "pravah-pools"), one(docs, "RoleBinding", "pravah-pools")]
    server.kubectl("create", "namespace", ns)
    server.kubectl("apply", "--server-side", "-f", "-", input="\n---\n".join(yaml.safe_dump(in_namespace(d, ns)) for d in wanted))
    token = server.kubectl("create", "token", ACCOUNT, "-n", ns, "--duration=1h").stdout.strip()
    admin = json.loads(server.kubeconfig.read_text())
    admin["users"] = [{"name": ACCOUNT, "user": {"token": token}}]
    admin["contexts"][0]["context"]["user"] = ACCOUNT
    path = tmp_path / "controller.kubeconfig"
    path.write_text(json.dumps(admin))
    return ns, path


def reconcile(kubeconfig: Path, ns: str, pools: dict[str, Runtime]) -> Outcome:
    async def go() -> Outcome:
        api = await connect(kubeconfig)
        try:
            return await Pools(api, ns).reconcile(pools)
        finally:
            await api.close()

    return anyio.run(go)


def get(server: kube.Server, ns: str, kind: str, name: str) -> dict | None:
    r = server.kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def main_container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env(deployment: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in main_container(deployment).get("env", [])}


def test_pools_are_created_updated_corrected_and_pruned(server: kube.Server, namespace: tuple[str, Path]) -> None:
    ns, kubeconfig = namespace
    done = reconcile(kubeconfig, ns, {"heavy": HEAVY})
    assert sorted(done.changed) == OWN and done.pruned == []

    dep = get(server, ns, "deployment", "pravah-worker-heavy")
    template = get(server, ns, "deployment", "pravah-worker")
    c = main_container(dep)
    assert c["resources"]["requests"] == {"cpu": "4", "memory": "16Gi"} and c["resources"]["limits"] == {"memory": "16Gi"}
    assert env(dep)["PRAVAH_WORKER__POOL"] == "heavy" and env(dep)["PRAVAH_WORKER__CONCURRENCY"] == "1"
    assert c["image"] == main_container(template)["image"] and c["args"] == ["serve", "worker"]
    assert dep["spec"]["selector"]["matchLabels"][POOL_LABEL] == "heavy"
    assert dep["spec"]["template"]["spec"]["securityContext"] == template["spec"]["template"]["spec"]["securityContext"]
    scaled = get(server, ns, "scaledobject", "pravah-worker-heavy")
    trig = scaled["spec"]["triggers"][0]
    assert trig["metadata"]["query"] == runnable_query("heavy") and trig["metadata"]["targetQueryValue"] == "1"
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (1, 5)
    assert scaled["spec"]["scaleTargetRef"]["name"] == "pravah-worker-heavy"
    assert get(server, ns, "pdb", "pravah-worker-heavy")["spec"]["selector"]["matchLabels"][POOL_LABEL] == "heavy"

    # nothing to do: applying the same again changes nothing
    assert reconcile(kubeconfig, ns, {"heavy": HEAVY}).changed == []

    # the pipeline's runtime changes
    done = reconcile(kubeconfig, ns, {"heavy": HEAVY.model_copy(update={"memory": "8Gi", "cpu": None})})
    assert done.changed == ["Deployment/pravah-worker-heavy"]
    res = main_container(get(server, ns, "deployment", "pravah-worker-heavy"))["resources"]
    assert res["limits"] == {"memory": "8Gi"} and res["requests"]["memory"] == "8Gi"
    assert res["requests"]["cpu"] == main_container(template)["resources"]["requests"]["cpu"]  # back to the default pool's

    # someone edits the pool's Deployment by hand: set back
    server.kubectl("set", "resources", "deployment/pravah-worker-heavy", "-n", ns, "--limits=memory=32Gi")
    assert reconcile(kubeconfig, ns, {"heavy": HEAVY}).changed == ["Deployment/pravah-worker-heavy"]
    assert main_container(get(server, ns, "deployment", "pravah-worker-heavy"))["resources"]["limits"] == {"memory": "16Gi"}

    # a new image for the default pool reaches the pool
    server.kubectl("set", "image", "deployment/pravah-worker", "-n", ns, "pravah=pravah:0.2.0")
    assert reconcile(kubeconfig, ns, {"heavy": HEAVY}).changed == ["Deployment/pravah-worker-heavy"]
    assert main_container(get(server, ns, "deployment", "pravah-worker-heavy"))["image"] == "pravah:0.2.0"

    # no pipeline names the pool any more: its objects go, nothing else does
    server.kubectl("create", "deployment", "bystander", "-n", ns, "--image=nginx")
    done = reconcile(kubeconfig, ns, {})
    assert sorted(done.pruned) == OWN and done.changed == []
    assert all(get(server, ns, kind, "pravah-worker-heavy") is None for kind in ("deployment", "pdb", "scaledobject"))
    assert get(server, ns, "deployment", "pravah-worker") and get(server, ns, "scaledobject", "pravah-worker")
    assert get(server, ns, "deployment", "bystander")


def test_without_keda_a_pool_has_a_fixed_count(server: kube.Server, namespace: tuple[str, Path]) -> None:
    ns, kubeconfig = namespace
    server.kubectl("delete", "scaledobject", "pravah-worker", "-n", ns)
    done = reconcile(kubeconfig, ns, {"heavy": HEAVY.model_copy(update={"min_workers": 3})})
    assert sorted(done.changed) == OWN[:2]
    assert get(server, ns, "deployment", "pravah-worker-heavy")["spec"]["replicas"] == 3


def can(server: kube.Server, ns: str, *args: str) -> bool:
    r = server.kubectl("auth", "can-i", f"--as=system:serviceaccount:{ns}:{ACCOUNT}", *args, check=False)
    return r.stdout.strip() == "yes"


def test_the_controller_role_is_enough_and_no_wider(server: kube.Server, namespace: tuple[str, Path]) -> None:
    ns, _ = namespace  # enough: the reconciles above and below run with this account's token alone
    for verb in ("get", "list", "create", "patch", "delete"):
        assert can(server, ns, verb, "deployments.apps", "-n", ns) and can(server, ns, verb, "scaledobjects.keda.sh", "-n", ns)
    assert not can(server, ns, "update", "deployments.apps", "-n", ns)
    assert not can(server, ns, "get", "poddisruptionbudgets.policy", "-n", ns)  # listing is all the prune needs
    for args in (["get", "secrets"], ["list", "secrets"], ["create", "pods"], ["get", "configmaps"], ["create", "pods/exec"],
                 ["create", "roles.rbac.authorization.k8s.io"], ["create", "rolebindings.rbac.authorization.k8s.io"],
                 ["patch", "statefulsets.apps"], ["create", "triggerauthentications.keda.sh"], ["create", "serviceaccounts/token"]):
        assert not can(server, ns, *args, "-n", ns), args
    for args in (["list", "deployments.apps", "-n", "default"], ["create", "deployments.apps", "-n", "kube-system"],
                 ["list", "namespaces"], ["list", "nodes"], ["list", "deployments.apps", "--all-namespaces"]):
        assert not can(server, ns, *args), args


def test_refusals_name_the_call(server: kube.Server, namespace: tuple[str, Path]) -> None:
    ns, kubeconfig = namespace
    with pytest.raises(KubeError, match=r"reading Deployment default/pravah-worker.*403 Forbidden"):
        reconcile(kubeconfig, "default", {"heavy": HEAVY})  # another namespace: the Role does not reach it
    server.kubectl("delete", "deployment", "pravah-worker", "-n", ns)
    with pytest.raises(KubeError, match=rf"reading Deployment {ns}/pravah-worker, the default pool every pool is made from: 404"):
        reconcile(kubeconfig, ns, {"heavy": HEAVY})


DOC = """
pipelines:
  - name: big
    steps: [read_csv, write_parquet]
    output: out/{stem}.parquet
    runtime: {pool: heavy_io, cpu: "2", memory: 4Gi, max_workers: 3}
  - name: small
    steps: [read_csv, write_parquet]
    output: out/{stem}.small.parquet
"""


def test_reconcile_once_follows_the_live_document(namespace: tuple[str, Path], tmp_path: Path) -> None:
    ns, kubeconfig = namespace
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)

    async def go() -> tuple[Outcome, Outcome, Outcome]:
        eng = make_engine(url)
        api = await connect(kubeconfig)
        try:
            pools = Pools(api, ns)
            before = await reconcile_once(sessions(eng), pools)  # nothing applied yet: nothing to keep
            async with sessions(eng)() as s:
                await registry.apply(s, validate(yaml.safe_load(DOC)), "pools.yaml")
            made = await reconcile_once(sessions(eng), pools)
            async with sessions(eng)() as s:
                await registry.apply(s, Document(), "empty.yaml")
            return before, made, await reconcile_once(sessions(eng), pools)
        finally:
            await api.close()
            await eng.dispose()

    before, made, emptied = anyio.run(go)
    assert before.applied == [] and before.pruned == []
    assert sorted(made.changed) == [o.replace("heavy", "heavy-io") for o in OWN]  # a Kubernetes name has no '_'
    assert sorted(emptied.pruned) == sorted(made.changed)


def test_serve_controller_reconciles_after_an_apply(server: kube.Server, namespace: tuple[str, Path], tmp_path: Path) -> None:
    """The role as deployed: `pravah serve controller` with the account's kubeconfig."""
    ns, kubeconfig = namespace
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    environ = {**os.environ, "PRAVAH_DATABASE_URL": url, "PRAVAH_KUBE__KUBECONFIG": str(kubeconfig), "PRAVAH_KUBE__NAMESPACE": ns,
               "PRAVAH_KUBE__INTERVAL_SECONDS": "0.5", "PRAVAH_OPS__PORT": "0", "PRAVAH_HOME": str(tmp_path)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "pravah"), "serve", "controller"], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        async def apply() -> None:
            eng = make_engine(url)
            async with sessions(eng)() as s:
                await registry.apply(s, validate(yaml.safe_load(DOC)), "pools.yaml")
            await eng.dispose()

        anyio.run(apply)
        deadline = time.monotonic() + 60
        while get(server, ns, "scaledobject", "pravah-worker-heavy-io") is None:
            assert proc.poll() is None and time.monotonic() < deadline, "no pool made"
            time.sleep(0.3)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output
    assert "pool heavy_io: Deployment/pravah-worker-heavy-io created" in output
