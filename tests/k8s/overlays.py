"""What each overlay promises: dev is one replica of everything on small volumes; prod is highly
available (3 Kafka nodes, 3 PostgreSQL instances, several API replicas, spread pods)."""

from __future__ import annotations

import re

from k8s.manifests import find, pravah_workloads, ref

UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def size(quantity: str) -> int:
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)", quantity)
    if m is None:
        raise ValueError(f"unexpected storage size {quantity!r}")
    return int(m.group(1)) * UNITS[m.group(2)]


def volume_sizes(docs: list[dict]) -> list[tuple[str, str]]:
    out = [(ref(d), v["size"]) for d in find(docs, "KafkaNodePool") for v in d["spec"]["storage"].get("volumes", [])]
    out += [(ref(d), d["spec"]["storage"]["size"]) for d in find(docs, "Cluster")]
    out += [(ref(d), t["spec"]["resources"]["requests"]["storage"]) for d in find(docs, "StatefulSet") for t in d["spec"].get("volumeClaimTemplates", [])]
    return out


def dev_problems(docs: list[dict]) -> list[str]:
    problems = []
    for d in find(docs, "Deployment") + find(docs, "StatefulSet") + find(docs, "KafkaNodePool"):
        if d["spec"].get("replicas", 1) != 1:
            problems.append(f"{ref(d)}: dev runs one replica, not {d['spec']['replicas']}")
    for d in find(docs, "Cluster"):
        if d["spec"]["instances"] != 1:
            problems.append(f"{ref(d)}: dev runs one PostgreSQL instance, not {d['spec']['instances']}")
    for where, s in volume_sizes(docs):
        if size(s) > 2 * UNITS["Gi"]:
            problems.append(f"{where}: dev volumes stay small (at most 2Gi), not {s}")
    if find(docs, "ScaledObject"):
        problems.append("dev has no autoscaling: one replica of everything")
    return problems


def prod_problems(docs: list[dict]) -> list[str]:
    problems = []
    for pool in find(docs, "KafkaNodePool"):
        if pool["spec"]["replicas"] < 3 or not {"controller", "broker"} <= set(pool["spec"]["roles"]):
            problems.append(f"{ref(pool)}: prod needs 3 nodes that are controllers and brokers (a KRaft quorum)")
    for kafka in find(docs, "Kafka"):
        if int(kafka["spec"]["kafka"]["config"].get("min.insync.replicas", 1)) < 2:
            problems.append(f"{ref(kafka)}: min.insync.replicas must be 2, or an acknowledged write can be lost with one broker")
    for topic in find(docs, "KafkaTopic"):
        if topic["spec"]["replicas"] < 3 or int(topic["spec"].get("config", {}).get("min.insync.replicas", 1)) < 2:
            problems.append(f"{ref(topic)}: prod topics need 3 replicas and min.insync.replicas 2")
    for cluster in find(docs, "Cluster"):
        if cluster["spec"]["instances"] < 3:
            problems.append(f"{ref(cluster)}: prod needs 3 PostgreSQL instances (a primary and two standbys)")
    for wl in pravah_workloads(docs):
        keys = {c["topologyKey"] for c in wl["spec"]["template"]["spec"].get("topologySpreadConstraints", [])}
        if not {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys:
            problems.append(f"{ref(wl)}: prod spreads replicas over zones and nodes")
    api = [wl for wl in pravah_workloads(docs) if wl["metadata"]["labels"].get("app.kubernetes.io/component") == "api"]
    if not api or api[0]["spec"].get("replicas", 1) < 2:
        problems.append("prod runs several API replicas")
    for kind in ("Kafka", "Cluster", "ScaledObject", "PrometheusRule"):
        if not find(docs, kind):
            problems.append(f"prod has every component: no {kind}")
    return problems


SHAPES = {"dev": dev_problems, "prod": prod_problems}
