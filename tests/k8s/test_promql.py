"""PromQL of the alerts and the dashboard parses, and reads metrics that reach Prometheus."""

from __future__ import annotations

import json

import pytest

from k8s import promql
from k8s.manifests import one


def test_alerts_and_dashboard_parse_and_read_real_metrics(rendered) -> None:
    exprs = promql.expressions(rendered["prod"])
    assert len(exprs) > 10 and promql.problems(rendered["prod"]) == []


def test_scraped_metrics_are_exported() -> None:
    assert promql.SCRAPED <= promql.exported()


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
    (lambda d: rule(d, "PravahIngestLag").update(expr="sum(pravah_ingest_lag_messages) > 10000"), "does not scrape"),
    (lambda d: rule(d, "PravahIngestLag").update(expr="sum(kafka_consumer_lag) > 10000"), "no exporter here"),
    (lambda d: rule(d, "PravahJobFailureRate").update(expr='max(pravah_jobs{status="QUEUED"}) > 0'), "'QUEUED' is not a job status"),
    (lambda d: set_panel_expr(d, "sum(rate(pravah_jobs[5m])"), "dashboard pravah.json"),
])
def test_broken_promql_fails(rendered, break_it, expected: str) -> None:
    break_it(rendered["prod"])
    assert any(expected in p for p in promql.problems(rendered["prod"]))
