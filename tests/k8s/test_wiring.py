"""Names that must agree across objects and with Pravah's code."""

from __future__ import annotations

import pytest

from k8s import wiring
from k8s.manifests import OVERLAYS, one


@pytest.mark.parametrize("check", wiring.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_wiring_holds(overlay: str, check, rendered) -> None:
    assert check(rendered[overlay]) == []


def settings(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("pravah-settings"))["data"]


def trigger(docs: list[dict], name: str) -> dict:
    return one(docs, "ScaledObject", name)["spec"]["triggers"][0]


def container(docs: list[dict], name: str) -> dict:
    return one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def minio_env(docs: list[dict], name: str, value: str) -> None:
    env = one(docs, "StatefulSet", "pravah-minio")["spec"]["template"]["spec"]["containers"][0]["env"]
    next(e for e in env if e["name"] == name)["value"] = value


@pytest.mark.parametrize("break_it, check, expected", [
    (lambda d: d.remove(one(d, "KafkaTopic", "pravah.objects.dlq")), wiring.kafka_problems, "pravah.objects.dlq, which has no KafkaTopic"),
    (lambda d: one(d, "KafkaTopic", "pravah.jobs.failed")["spec"].update(topicName="pravah.job.failed"), wiring.kafka_problems, "is not a topic Pravah uses"),
    (lambda d: one(d, "KafkaTopic", "pravah.objects")["spec"]["config"].pop("retention.ms"), wiring.kafka_problems, "retention.ms"),
    (lambda d: one(d, "Kafka", "pravah")["spec"]["kafka"]["config"].pop("auto.create.topics.enable"), wiring.kafka_problems, "auto.create"),
    (lambda d: settings(d).update(PRAVAH_KAFKA__BOOTSTRAP_SERVERS="kafka:9092"), wiring.kafka_problems, "BOOTSTRAP_SERVERS"),
    (lambda d: settings(d).update(PRAVAH_KAFKA__GROUP_ID="ingest"), wiring.kafka_problems, "consumerGroup"),
    (lambda d: trigger(d, "pravah-ingest")["metadata"].update(topic="pravah.object"), wiring.kafka_problems, "not the object topic"),
    (lambda d: trigger(d, "pravah-ingest")["metadata"].update(bootstrapServers="pravah-kafka-bootstrap:9092"), wiring.kafka_problems, "another namespace"),
    (lambda d: one(d, "ScaledObject", "pravah-ingest")["spec"].update(maxReplicaCount=50), wiring.kafka_problems, "partitions"),
    (lambda d: one(d, "ScaledObject", "pravah-ingest")["spec"].update(minReplicaCount=0), wiring.kafka_problems, "minReplicaCount"),
    (lambda d: minio_env(d, "MINIO_NOTIFY_KAFKA_TOPIC_PRAVAH", "pravah.events"), wiring.minio_problems, "MINIO_NOTIFY_KAFKA_TOPIC_PRAVAH"),
    (lambda d: settings(d).update(PRAVAH_S3__NOTIFY_ARN="arn:minio:sqs::OTHER:kafka"), wiring.minio_problems, "MINIO_NOTIFY_KAFKA_ENABLE_OTHER"),
    (lambda d: settings(d).update(PRAVAH_S3__ENDPOINT="http://minio:9000"), wiring.minio_problems, "PRAVAH_S3__ENDPOINT"),
    (lambda d: one(d, "Cluster", "pravah-db")["metadata"].update(name="pravah-pg"), wiring.postgres_problems, "the Cluster's is pravah-pg-app"),
    (lambda d: one(d, "TriggerAuthentication", "pravah-db")["spec"]["secretTargetRef"][0].update(key="uri"), wiring.postgres_problems, "fqdn-uri"),
    (lambda d: trigger(d, "pravah-worker")["metadata"].update(query="SELECT count(*) FROM jobs WHERE state = 'PENDING'"),
     wiring.worker_scaler_problems, "'state' in the query"),
    (lambda d: trigger(d, "pravah-worker")["metadata"].update(query="SELECT count(*) FROM jobs WHERE status = 'QUEUED'"),
     wiring.worker_scaler_problems, "'QUEUED' is not a job status"),
    (lambda d: settings(d).update(PRAVAH_WORKER__CONCURRENCY="4"), wiring.worker_scaler_problems, "targetQueryValue"),
    (lambda d: trigger(d, "pravah-worker")["metadata"].update(query="SELECT count(*) FROM jobs WHERE status = 'PENDING' OR status = 'RUNNING'"),
     wiring.worker_scaler_problems, "the query must count the default pool's jobs"),
    (lambda d: one(d, "ScaledObject", "pravah-worker")["spec"]["scaleTargetRef"].update(name="pravah-workers"), wiring.worker_scaler_problems, "not in the manifests"),
    (lambda d: one(d, "Service", "pravah-api")["metadata"].update(namespace="default"), wiring.namespace_problems, "namespace default"),
    (lambda d: settings(d).update(PRAVAH_OPS__PORT="9200"), wiring.port_problems, "PRAVAH_OPS__PORT serves /metrics on 9200"),
    (lambda d: settings(d).pop("PRAVAH_OPS__HOST"), wiring.port_problems, "PRAVAH_OPS__HOST is 127.0.0.1"),
    (lambda d: container(d, "pravah-worker")["env"].append({"name": "PRAVAH_OPS__PORT", "value": "0"}), wiring.port_problems,
     "Deployment/pravah-worker container pravah: its port named metrics is 9100, but PRAVAH_OPS__PORT serves /metrics on 0"),
    (lambda d: container(d, "pravah-api")["readinessProbe"]["httpGet"].update(port="metrics"), wiring.port_problems,
     "readinessProbe goes to port 'metrics', but the probes are served on 8787"),
    (lambda d: container(d, "pravah-relay")["livenessProbe"]["httpGet"].update(port=8787), wiring.port_problems,
     "livenessProbe goes to port 8787, but the probes are served on 9100"),
    (lambda d: one(d, "NetworkPolicy", "pravah-ingest")["spec"].pop("ingress"), wiring.port_problems,
     "Deployment/pravah-ingest container pravah: no NetworkPolicy lets the monitoring namespace in"),
    (lambda d: settings(d).update(PRAVAH_WORKER__GRACE_SECONDS="60"), wiring.stop_problems, "terminationGracePeriodSeconds 30 leaves no time"),
    (lambda d: one(d, "Deployment", "pravah-worker")["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=25),
     wiring.stop_problems, "needs 30"),
])
def test_broken_wiring_fails(rendered, break_it, check, expected: str) -> None:
    break_it(rendered["prod"])
    assert any(expected in p for p in check(rendered["prod"]))
