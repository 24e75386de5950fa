"""The objects a pool needs, derived from the default pool's (the `pravah-worker` Deployment and
ScaledObject of k8s/): same image, settings, probes and security, with the pool's name, labels,
resources, scale bounds and a query counting only its jobs. Pure functions over plain dicts."""

from __future__ import annotations

import copy
from typing import Any

from pravah.pipelines import DEFAULT_POOL, Runtime

TEMPLATE = "pravah-worker"
POOL_LABEL = "pravah.dev/pool"
MANAGED_BY = ("app.kubernetes.io/managed-by", "pravah-pools")
CONTAINER = "pravah"


class PoolError(ValueError):
    """The pools cannot be derived (a name clash, a template without what a pool needs)."""


def runnable_query(pool: str) -> str:
    """What KEDA counts for a pool: its jobs that need a worker now, runnable PENDING ones (due, as
    jobs.claim takes them) and RUNNING ones, whose workers are busy (counting only PENDING would
    scale busy workers away once they had claimed everything). ix_jobs_claim covers it.
    Pool names are [a-z0-9_-]: safe to inline."""
    return f"SELECT count(*) FROM jobs WHERE pool = '{pool}' AND ((status = 'PENDING' AND next_attempt_at <= now()) OR status = 'RUNNING')"


def object_name(pool: str) -> str:
    return f"{TEMPLATE}-{pool.replace('_', '-')}"


def _meta(template: dict[str, Any], pool: str, namespace: str) -> dict[str, Any]:
    labels = {**(template["metadata"].get("labels") or {}), POOL_LABEL: pool, MANAGED_BY[0]: MANAGED_BY[1]}
    return {"name": object_name(pool), "namespace": namespace, "labels": labels}


def _env(container: dict[str, Any], values: dict[str, str]) -> None:
    env = [e for e in container.get("env") or [] if e["name"] not in values]
    container["env"] = env + [{"name": k, "value": v} for k, v in values.items()]


def deployment(template: dict[str, Any], pool: str, rt: Runtime, namespace: str, scaled: bool) -> dict[str, Any]:
    spec = copy.deepcopy(template["spec"])
    spec.pop("replicas", None)
    spec["selector"] = {"matchLabels": {**spec["selector"].get("matchLabels", {}), POOL_LABEL: pool}}
    pod = spec["template"]
    pod.setdefault("metadata", {})["labels"] = {**(pod["metadata"].get("labels") or {}), POOL_LABEL: pool}
    containers = pod["spec"]["containers"]
    main = next((c for c in containers if c["name"] == CONTAINER), None)
    if main is None:
        raise PoolError(f"Deployment {TEMPLATE} has no container named {CONTAINER!r} to run the pool's workers in")
    values = {"PRAVAH_WORKER__POOL": pool}
    if rt.concurrency is not None:
        values["PRAVAH_WORKER__CONCURRENCY"] = str(rt.concurrency)
    _env(main, values)
    resources = copy.deepcopy(main.get("resources") or {})
    # Memory is both asked for and capped (a job past it is killed, not the node); CPU is only
    # asked for: a cap would throttle a busy engine for no one's benefit.
    if rt.cpu is not None:
        resources.setdefault("requests", {})["cpu"] = rt.cpu
    if rt.memory is not None:
        resources.setdefault("requests", {})["memory"] = rt.memory
        resources.setdefault("limits", {})["memory"] = rt.memory
    main["resources"] = resources
    if not scaled:  # no KEDA: a fixed count
        spec["replicas"] = max(1, rt.min_workers)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(template, pool, namespace), "spec": spec}


def budget(template: dict[str, Any], pool: str, namespace: str) -> dict[str, Any]:
    """At most one of the pool's workers stopped at a time by a node drain."""
    selector = {"matchLabels": {**template["spec"]["selector"].get("matchLabels", {}), POOL_LABEL: pool}}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(template, pool, namespace),
            "spec": {"maxUnavailable": 1, "selector": selector}}


def scaled_object(template: dict[str, Any], deployment_template: dict[str, Any], pool: str, rt: Runtime, namespace: str) -> dict[str, Any]:
    """The default pool's ScaledObject with the pool's target, bounds and query; one worker's
    share of jobs is the pool's concurrency, else the default pool's target (its concurrency)."""
    spec = copy.deepcopy(template["spec"])
    spec["scaleTargetRef"] = {**spec.get("scaleTargetRef", {}), "name": object_name(pool)}
    spec["minReplicaCount"], spec["maxReplicaCount"] = rt.min_workers, rt.max_workers
    triggers = [t for t in spec.get("triggers", []) if t.get("type") == "postgresql"]
    if not triggers:
        raise PoolError(f"ScaledObject {TEMPLATE} has no postgresql trigger to count the pool's jobs with")
    for t in triggers:
        t["metadata"] = {**t["metadata"], "query": runnable_query(pool)}
        if rt.concurrency is not None:
            t["metadata"]["targetQueryValue"] = str(rt.concurrency)
    spec["triggers"] = triggers
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": _meta(deployment_template, pool, namespace), "spec": spec}


def objects(pools: dict[str, Runtime], worker: dict[str, Any], scaler: dict[str, Any] | None, namespace: str) -> list[dict[str, Any]]:
    """Every object the declared pools need. `worker`/`scaler`: the default pool's Deployment and
    ScaledObject as the API server returns them (`scaler` None without KEDA)."""
    names: dict[str, str] = {}
    for pool in pools:
        if pool == DEFAULT_POOL:
            raise PoolError("the default pool is k8s/'s own pravah-worker Deployment, not one to reconcile")
        other = names.setdefault(object_name(pool), pool)
        if other != pool:
            raise PoolError(f"pools {other!r} and {pool!r} would both be Deployment {object_name(pool)}; rename one")
    out = []
    for pool, rt in sorted(pools.items()):
        out.append(deployment(worker, pool, rt, namespace, scaler is not None))
        out.append(budget(worker, pool, namespace))
        if scaler is not None:
            out.append(scaled_object(scaler, worker, pool, rt, namespace))
    return out

