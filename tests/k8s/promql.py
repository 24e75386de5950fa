"""PromQL of the alerting rules and the Grafana dashboard: it parses (promql-parser, with type
checks such as rate() over a range), and every metric it reads reaches Prometheus. pravah_*
metrics must be exported by services/pravah/metrics.py and counted by a role whose pods a
PodMonitor or ServiceMonitor scrapes; the others must come from an exporter the monitoring
component scrapes or kube-prometheus-stack ships."""

from __future__ import annotations

import json
import re

import promql_parser
from pravah import metrics
from pravah.db.models import Status

from k8s.manifests import containers, find, pravah_workloads
from k8s.policy import selects

EXTERNAL = {
    # Strimzi's Kafka exporter (the Kafka component's kafkaExporter, the pravah-kafka-exporter PodMonitor)
    "kafka_consumergroup_lag": "Kafka exporter",
    "kafka_topic_partition_current_offset": "Kafka exporter",
    # kube-state-metrics, part of kube-prometheus-stack
    "kube_deployment_status_replicas_available": "kube-state-metrics",
}
# The role whose processes count each of Pravah's process metrics (metrics.REGISTRY; every process
# exports them all, only these move). The database's numbers (metrics.DATABASE) come from the API.
COUNTED_BY = {
    "pravah_ingest_events": "ingest", "pravah_ingest_lag_messages": "ingest",
    "pravah_job_duration_seconds": "worker", "pravah_bytes_processed": "worker", "pravah_bytes_written": "worker",
    "pravah_limit_exceeded": "worker", "pravah_jobs_handed_back": "worker", "pravah_inputs_deleted": "worker",
    "pravah_events_published": "relay",
    "pravah_pool_reconciles": "controller", "pravah_reconciled": "worker",
}
SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum", "_created")}


def families() -> dict[str, str]:
    """Each of Pravah's metric families, and the role that reports it."""
    out = {f.name: "api" for f in metrics.DATABASE.collect()}
    for f in metrics.REGISTRY.collect():
        out[f.name] = COUNTED_BY.get(f.name, "unknown")
    return out


def exported() -> dict[str, str]:
    """The series names Pravah exposes, as Prometheus sees them, and the role that reports each."""
    types = {f.name: f.type for r in (metrics.REGISTRY, metrics.DATABASE) for f in r.collect()}
    return {name + s: role for name, role in families().items() for s in SUFFIXES[types[name]]}


def scraped_roles(docs: list[dict]) -> set[str]:
    """The roles whose pods a PodMonitor, or a ServiceMonitor through a Service, scrapes on a port they declare."""
    roles = set()
    for wl in pravah_workloads(docs):
        labels = wl["spec"]["template"]["metadata"]["labels"]
        ports = {p.get("name") for c in containers(wl["spec"]["template"]["spec"]) for p in c.get("ports", [])}
        for pm in find(docs, "PodMonitor"):
            if selects(pm["spec"]["selector"], labels) and any(e.get("port") in ports for e in pm["spec"]["podMetricsEndpoints"]):
                roles.add(labels["app.kubernetes.io/component"])
        for sm in find(docs, "ServiceMonitor"):
            for svc in find(docs, "Service"):
                if not (selects(sm["spec"]["selector"], svc["metadata"].get("labels", {}))
                        and all(labels.get(k) == v for k, v in svc["spec"].get("selector", {}).items())):
                    continue
                targets = {p.get("name"): p.get("targetPort") for p in svc["spec"]["ports"]}
                if any(targets.get(e.get("port")) in ports for e in sm["spec"]["endpoints"]):
                    roles.add(labels["app.kubernetes.io/component"])
    return roles


def expressions(docs: list[dict]) -> list[tuple[str, str]]:
    """(where, expr) for every rule and every dashboard panel query."""
    found = []
    for rule_doc in find(docs, "PrometheusRule"):
        for g in rule_doc["spec"]["groups"]:
            for r in g["rules"]:
                found.append((f"rule {r.get('alert') or r.get('record')}", r["expr"]))
    for cm in find(docs, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("grafana_dashboard"):
            for key, text in cm["data"].items():
                for panel in json.loads(text)["panels"]:
                    for t in panel.get("targets", []):
                        found.append((f"dashboard {key} panel {panel['title']!r}", t["expr"]))
    return found


def problems(docs: list[dict]) -> list[str]:
    known, scraped = exported(), scraped_roles(docs)
    statuses = {v for k, v in vars(Status).items() if k.isupper() and isinstance(v, str)}
    out = []
    for where, expr in expressions(docs):
        try:
            ast = promql_parser.parse(expr)
        except ValueError as e:
            out.append(f"{where}: {e}: {expr}")
            continue
        selectors: list = []
        promql_parser.walk(ast, pre_visit=lambda n: selectors.append(n) if isinstance(n, promql_parser.VectorSelector) else None)
        for s in selectors:
            if s.name.startswith("pravah_") and s.name not in known:
                out.append(f"{where}: services/pravah/metrics.py exports no {s.name}")
            elif s.name.startswith("pravah_") and known[s.name] not in scraped:
                out.append(f"{where}: {s.name} comes from the {known[s.name]} pods, which no PodMonitor or ServiceMonitor scrapes")
            elif not s.name.startswith("pravah_") and s.name not in EXTERNAL:
                out.append(f"{where}: no exporter here has a metric named {s.name}")
            for m in s.matchers.matchers:
                if s.name == "pravah_jobs" and m.name == "status":
                    for value in re.split(r"\|", m.value):
                        if value not in statuses:
                            out.append(f"{where}: status {value!r} is not a job status")
                if s.name == "pravah_dead_letters" and m.name == "window" and m.value not in metrics.DEAD_LETTER_WINDOWS:
                    out.append(f"{where}: window {m.value!r} is not one of pravah_dead_letters' ({', '.join(metrics.DEAD_LETTER_WINDOWS)})")
    return out
