"""Apply the pools' objects server-side, correct drift and prune the pools no longer declared,
through kubernetes_asyncio. Pravah owns what it applies (field manager `pravah-pools`, forced:
a field someone else changed is set back); it touches only objects labelled as its own."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from pravah.pipelines import Runtime
from pravah.pools import desired
from pravah.pools.desired import MANAGED_BY, POOL_LABEL, TEMPLATE

log = logging.getLogger("pravah.pools")

MANAGER = "pravah-pools"
APPLY = "application/apply-patch+yaml"  # JSON is YAML
KEDA = ("keda.sh", "v1alpha1", "scaledobjects")
SELECTOR = f"{MANAGED_BY[0]}={MANAGED_BY[1]}"


class KubeError(RuntimeError):
    """The API server refused or could not be reached; the message says which call and why."""


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)  # Kind/name of every object the pools need
    changed: list[str] = field(default_factory=list)  # those created, updated or brought back in line
    pruned: list[str] = field(default_factory=list)  # those of pools no longer declared


async def connect(kubeconfig: Path | None) -> client.ApiClient:
    """An API client from a kubeconfig file, or from the pod's service account when None."""
    cfg = client.Configuration()
    if kubeconfig is None:
        config.load_incluster_config(client_configuration=cfg)
    else:
        await config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


async def _decoded(resp: Any) -> dict[str, Any]:
    """The JSON of an answer read raw (`_preload_content=False`: the client neither decodes an
    apply's answer nor checks the status then)."""
    body = await resp.text()
    if not 200 <= resp.status <= 299:
        e = ApiException(status=resp.status, reason=resp.reason)
        e.body = body
        raise e
    return json.loads(body)


def _why(e: ApiException, what: str) -> KubeError:
    return KubeError(f"{what}: {e.status} {e.reason}: {(e.body or '')[:300]}")


class Pools:
    """Reconciles the pools of one namespace."""

    def __init__(self, api: client.ApiClient, namespace: str):
        self.namespace = namespace
        self.apps, self.policy, self.custom = client.AppsV1Api(api), client.PolicyV1Api(api), client.CustomObjectsApi(api)

    async def _template(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        ns = self.namespace
        try:
            worker = await _decoded(await self.apps.read_namespaced_deployment(TEMPLATE, ns, _preload_content=False))
        except ApiException as e:
            raise _why(e, f"reading Deployment {ns}/{TEMPLATE}, the default pool every pool is made from") from None
        try:
            scaler = await self.custom.get_namespaced_custom_object(*KEDA[:2], ns, KEDA[2], TEMPLATE)
        except ApiException as e:
            if e.status != 404:  # 404: no KEDA here (or no ScaledObject): pools get a fixed count
                raise _why(e, f"reading ScaledObject {ns}/{TEMPLATE}") from None
            scaler = None
        return worker, scaler

    async def _apply(self, obj: dict[str, Any]) -> str:
        """Apply; the object's resourceVersion afterwards (unchanged when nothing differed)."""
        name, ns, kind = obj["metadata"]["name"], self.namespace, obj["kind"]
        kw = dict(field_manager=MANAGER, force=True, _content_type=APPLY)
        try:
            if kind == "Deployment":
                got = (await self.apps.patch_namespaced_deployment(name, ns, obj, **kw)).metadata.resource_version
            elif kind == "PodDisruptionBudget":
                got = (await self.policy.patch_namespaced_pod_disruption_budget(name, ns, obj, **kw)).metadata.resource_version
            else:
                resp = await self.custom.patch_namespaced_custom_object(*KEDA[:2], ns, KEDA[2], name, obj, _preload_content=False, **kw)
                got = (await _decoded(resp))["metadata"]["resourceVersion"]
        except ApiException as e:
            raise _why(e, f"applying {kind} {ns}/{name}") from None
        return got

    async def _owned(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(kind, name) → (pool, resourceVersion) of every object Pravah made for a pool here."""
        ns, out = self.namespace, {}
        try:
            for d in (await self.apps.list_namespaced_deployment(ns, label_selector=SELECTOR)).items:
                out["Deployment", d.metadata.name] = (d.metadata.labels.get(POOL_LABEL, ""), d.metadata.resource_version)
            for b in (await self.policy.list_namespaced_pod_disruption_budget(ns, label_selector=SELECTOR)).items:
                out["PodDisruptionBudget", b.metadata.name] = (b.metadata.labels.get(POOL_LABEL, ""), b.metadata.resource_version)
        except ApiException as e:
            raise _why(e, f"listing the pools' objects in {ns}") from None
        try:
            scaled = await self.custom.list_namespaced_custom_object(*KEDA[:2], ns, KEDA[2], label_selector=SELECTOR)
            for m in (s["metadata"] for s in scaled["items"]):
                out["ScaledObject", m["name"]] = (m["labels"].get(POOL_LABEL, ""), m["resourceVersion"])
        except ApiException as e:
            if e.status != 404:  # no KEDA
                raise _why(e, f"listing the pools' ScaledObjects in {ns}") from None
        return out

    async def _delete(self, kind: str, name: str) -> None:
        ns = self.namespace
        try:
            if kind == "Deployment":
                await self.apps.delete_namespaced_deployment(name, ns)
            elif kind == "PodDisruptionBudget":
                await self.policy.delete_namespaced_pod_disruption_budget(name, ns)
            else:
                await self.custom.delete_namespaced_custom_object(*KEDA[:2], ns, KEDA[2], name)
        except ApiException as e:
            if e.status != 404:  # gone already
                raise _why(e, f"deleting {kind} {ns}/{name}") from None

    async def reconcile(self, pools: dict[str, Runtime]) -> Outcome:
        """Make the namespace hold exactly the declared pools' objects, as declared."""
        worker, scaler = await self._template()
        want = desired.objects(pools, worker, scaler, self.namespace)
        had = await self._owned()
        done = Outcome()
        for obj in want:
            ref = (obj["kind"], obj["metadata"]["name"])
            version = await self._apply(obj)
            done.applied.append("/".join(ref))
            if had.get(ref, ("", None))[1] != version:
                done.changed.append("/".join(ref))
                log.info("pool %s: %s/%s %s", obj["metadata"]["labels"][POOL_LABEL], *ref, "updated" if ref in had else "created")
        keep = {(o["kind"], o["metadata"]["name"]) for o in want}
        for (kind, name), (pool, _) in had.items():
            if (kind, name) not in keep:
                await self._delete(kind, name)
                done.pruned.append(f"{kind}/{name}")
                log.info("pool %s: %s/%s pruned (no pipeline declares the pool)", pool, kind, name)
        return done
