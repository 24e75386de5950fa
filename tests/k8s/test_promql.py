"""PromQL of the alerts and the dashboard parses, and reads metrics that reach Prometheus."""

from __future__ import annotations

import json

import pytest

from k8s import promql
from k8s.manifests import one


def test_alerts_and_dashboard_parse_and_read_real_metrics(rendered) -> None:
    exprs = promql.expressions(rendered["prod"])
    assert len(exprs) > 10 and promql.problems(rendered["prod"]) == []


def test_every_metric_has_the_role_that_reports_it() -> None:
    roles = promql.families()
    assert set(roles.values()) <= {"api", "ingest", "worker", "relay", "controller"}, {k: v for k, v in roles.items() if v == "unknown"}
    assert set(promql.COUNTED_BY) <= set(roles), "COUNTED_BY names a metric metrics.py no longer has"


@pytest.mark.parametrize("overlay, roles", [("prod", {"api", "ingest", "worker", "relay", "controller"}), ("dev", set())])
def test_every_role_is_scraped_where_monitoring_is(rendered, overlay: str, roles: set[str]) -> None:
    assert promql.scraped_roles(rendered[overlay]) == roles


def rule(docs: list[dict], alert: str) -> dict:
    return next(r for r in one(docs, "PrometheusRule", "pravah")["spec"]["groups"][0]["rules"] if r["alert"] == alert)


def set_panel_expr(docs: list[dict], expr: str) -> None:
    cm = one(docs, "ConfigMap", "pravah-dashboard")
    dash = json.loads(cm["data"]["pravah.json"])
    dash["panels"][0]["targets"][0]["expr"] = expr
    cm["data"]["pravah.json"] = json.dumps(dash)


@pytest.mark.parametrize("break_it, expected", [
    (lambda d: rule(d, "PravahOldestPendingJob").update(expr="max(pravah_oldest_pending_seconds > 900"), "unclosed left parenthesis"),
    (lambda d: rule(d, "PravahJobFailureRate").update(expr='rate(pravah_jobs{status="FAILED"}) > 0'), "expected type matrix"),
    (lambda d: rule(d, "PravahOldestPendingJob").update(expr="max(pravah_oldest_pending_job_seconds) > 900"), "exports no pravah_oldest_pending_job_seconds"),
    (lambda d: one(d, "PodMonitor", "pravah")["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/component": "api"}),
     "pravah_ingest_events_total comes from the ingest pods, which no PodMonitor"),
    (lambda d: one(d, "PodMonitor", "pravah")["spec"]["podMetricsEndpoints"][0].update(port="http-metrics"),
     "pravah_workers comes from the api pods, which no PodMonitor"),
    (lambda d: rule(d, "PravahDeadLettersGrowing").update(expr='max(pravah_dead_letters{window="5m"}) > 0'), "window '5m' is not one"),
    (lambda d: rule(d, "PravahIngestLag").update(expr="sum(kafka_consumer_lag) > 10000"), "no exporter here"),
    (lambda d: rule(d, "PravahJobFailureRate").update(expr='max(pravah_jobs{status="QUEUED"}) > 0'), "'QUEUED' is not a job status"),
    (lambda d: set_panel_expr(d, "sum(rate(pravah_jobs[5m])"), "dashboard pravah.json"),
])
def test_broken_promql_fails(rendered, break_it, expected: str) -> None:
    break_it(rendered["prod"])
    assert any(expected in p for p in promql.problems(rendered["prod"]))
