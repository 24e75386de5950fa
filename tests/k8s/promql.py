"""PromQL of the alerting rules and the Grafana dashboard: it parses (promql-parser, with type
checks such as rate() over a range), and every metric it reads reaches Prometheus. pravah_*
metrics must be exported by services/pravah/metrics.py and reported by the API process; the others
must come from an exporter the monitoring component scrapes or kube-prometheus-stack ships."""

from __future__ import annotations

import json
import re

import promql_parser
from pravah import metrics
from pravah.db.models import Status

from k8s.manifests import find

EXTERNAL = {
    # Strimzi's Kafka exporter (the Kafka component's kafkaExporter, the pravah-kafka-exporter PodMonitor)
    "kafka_consumergroup_lag": "Kafka exporter",
    "kafka_topic_partition_current_offset": "Kafka exporter",
    # kube-state-metrics, part of kube-prometheus-stack
    "kube_deployment_status_replicas_available": "kube-state-metrics",
}
# Only the API process is scraped (ingest, workers and relay serve no HTTP), and of Pravah's
# metrics it reports only what it reads from the database at scrape time (metrics.render): the
# counters and histograms stay in the processes that count them, out of Prometheus' reach.
SCRAPED = {"pravah_jobs", "pravah_oldest_pending_seconds"}
SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum", "_created")}


def exported() -> set[str]:
    """The series names Pravah's registry exposes, as Prometheus sees them."""
    return {family.name + s for family in metrics.REGISTRY.collect() for s in SUFFIXES[family.type]}


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
    known = exported()
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
            elif s.name.startswith("pravah_") and s.name not in SCRAPED:
                out.append(f"{where}: {s.name} is counted in a process Prometheus does not scrape (only the API is)")
            elif not s.name.startswith("pravah_") and s.name not in EXTERNAL:
                out.append(f"{where}: no exporter here has a metric named {s.name}")
            for m in s.matchers.matchers:
                if s.name.startswith("pravah_jobs") and m.name == "status":
                    for value in re.split(r"\|", m.value):
                        if value not in statuses:
                            out.append(f"{where}: status {value!r} is not a job status")
    return out
