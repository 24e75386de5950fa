"""Built-in kinds against Kubernetes' strict schemas, custom resources against the pinned
operators' CRDs made strict; each breaks on an unknown field, a wrong type or an unknown kind."""

from __future__ import annotations

import pytest

from k8s import schemas
from k8s.manifests import OVERLAYS, one


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_document_is_valid(overlay: str, rendered: dict[str, list[dict]], crd_index: schemas.CrdIndex) -> None:
    assert [p for d in rendered[overlay] for p in schemas.problems(d, crd_index)] == []


@pytest.mark.parametrize("kind, name, break_it, expected", [
    ("Deployment", "pravah-api", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolice="Always"), "imagePullPolice"),
    ("Service", "pravah-api", lambda d: d["spec"]["ports"][0].update(port="http"), "port"),
    ("NetworkPolicy", "pravah-api", lambda d: d["spec"].update(podSelektor={}), "podSelektor"),
])
def test_broken_builtin_kind_fails(rendered, crd_index, kind: str, name: str, break_it, expected: str) -> None:
    doc = one(rendered["prod"], kind, name)
    break_it(doc)
    assert any(expected in p for p in schemas.problems(doc, crd_index))


@pytest.mark.parametrize("kind, name, break_it, expected", [
    ("Kafka", "pravah", lambda d: d["spec"]["kafka"].update(listners=[]), "listners"),
    ("KafkaNodePool", "nodes", lambda d: d["spec"].update(roles=["broker", "zookeeper"]), "zookeeper"),
    ("KafkaTopic", "pravah.objects", lambda d: d["spec"].update(partitions="12"), "partitions"),
    ("Cluster", "pravah-db", lambda d: d["spec"].update(instances=0), "instances"),
    ("ScaledObject", "pravah-worker", lambda d: d["spec"].update(minReplicas=0), "minReplicas"),
    ("TriggerAuthentication", "pravah-db", lambda d: d["spec"]["secretTargetRef"][0].pop("key"), "key"),
    ("PrometheusRule", "pravah", lambda d: d["spec"]["groups"][0]["rules"][0].update({"for": "ten minutes"}), "for"),
    ("PodMonitor", "pravah", lambda d: d["spec"]["podMetricsEndpoints"][0].update(intervl="30s"), "intervl"),
    ("PodMonitor", "pravah-db", lambda d: d["spec"].update(podMetricsEndpoint=[]), "podMetricsEndpoint"),
])
def test_broken_custom_resource_fails(rendered, crd_index, kind: str, name: str, break_it, expected: str) -> None:
    doc = one(rendered["prod"], kind, name)
    break_it(doc)
    assert any(expected in p for p in schemas.problems(doc, crd_index))


def test_gone_api_version_fails(rendered, crd_index) -> None:
    doc = one(rendered["prod"], "Kafka", "pravah")
    doc["apiVersion"] = "kafka.strimzi.io/v1beta2"  # gone since Strimzi 1.0
    assert any("neither a built-in kind" in p for p in schemas.problems(doc, crd_index))


def test_strict_schema_keeps_kubernetes_escapes() -> None:
    """int-or-string, nullable and preserve-unknown-fields mean what the API server makes of them."""
    s = schemas.strict({"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": True},
        "maybe": {"type": "string", "nullable": True},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
    }})
    v = schemas.jsonschema.Draft7Validator(s)
    assert v.is_valid({"port": 80, "maybe": None, "free": {"x": 1}, "map": {"a": "b"}})
    assert v.is_valid({"port": "http"})
    assert not v.is_valid({"port": 1.5})
    assert not v.is_valid({"map": {"a": 1}})
    assert not v.is_valid({"other": 1})
