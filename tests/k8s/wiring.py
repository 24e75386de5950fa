"""Names that must agree across objects and with Pravah's code: topics, the consumer group, the
Services and Secrets the operators create, the notification target, the workers' scaling query."""

from __future__ import annotations

import re

from pravah.db.models import Job, Status
from pravah.settings import KafkaSettings

from k8s.manifests import containers, find, one, pod_templates, pravah_workloads, ref


def settings(docs: list[dict]) -> dict[str, str]:
    """The PRAVAH_* settings of the ConfigMap every Pravah Deployment reads."""
    names = {e["configMapRef"]["name"] for wl in pravah_workloads(docs) for c in wl["spec"]["template"]["spec"]["containers"]
             for e in c.get("envFrom", []) if "configMapRef" in e}
    if len(names) != 1:
        raise LookupError(f"expected the Pravah Deployments to share one settings ConfigMap, found {sorted(names)}")
    return one(docs, "ConfigMap", names.pop())["data"]


def kafka_settings(docs: list[dict]) -> KafkaSettings:
    """Pravah's Kafka settings as the pods see them: the code's defaults, overridden by the ConfigMap."""
    prefix = "PRAVAH_KAFKA__"
    return KafkaSettings(**{k.removeprefix(prefix).lower(): v for k, v in settings(docs).items() if k.startswith(prefix)})


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def kafka_problems(docs: list[dict]) -> list[str]:
    """Topics, bootstrap address, and the ingest scaler against the Kafka component and Pravah's settings."""
    kafkas = find(docs, "Kafka")
    if not kafkas:
        return []
    problems = []
    kafka, ks = kafkas[0], kafka_settings(docs)
    namespace = kafka["metadata"].get("namespace")
    port = kafka["spec"]["kafka"]["listeners"][0]["port"]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap"  # the Service Strimzi makes
    if ks.bootstrap_servers != f"{bootstrap}:{port}":
        problems.append(f"PRAVAH_KAFKA__BOOTSTRAP_SERVERS is {ks.bootstrap_servers}, the Kafka component serves {bootstrap}:{port}")
    if kafka["spec"]["kafka"].get("config", {}).get("auto.create.topics.enable") is not False:
        problems.append(f"{ref(kafka)}: auto.create.topics.enable must be false (topics are KafkaTopics)")
    topics = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in find(docs, "KafkaTopic")}
    wanted = {ks.object_topic, ks.dead_letter_topic, ks.succeeded_topic, ks.failed_topic}
    for name in sorted(wanted - set(topics)):
        problems.append(f"Pravah uses topic {name}, which has no KafkaTopic")
    for name in sorted(set(topics) - wanted):
        problems.append(f"KafkaTopic {name} is not a topic Pravah uses")
    for t in topics.values():
        if t["metadata"]["labels"].get("strimzi.io/cluster") != kafka["metadata"]["name"]:
            problems.append(f"{ref(t)}: strimzi.io/cluster must name Kafka {kafka['metadata']['name']}")
        if "retention.ms" not in t["spec"].get("config", {}) or "partitions" not in t["spec"]:
            problems.append(f"{ref(t)}: partitions and retention.ms must be set")
    for pool in find(docs, "KafkaNodePool"):
        if pool["metadata"]["labels"].get("strimzi.io/cluster") != kafka["metadata"]["name"]:
            problems.append(f"{ref(pool)}: strimzi.io/cluster must name Kafka {kafka['metadata']['name']}")
    for so in find(docs, "ScaledObject"):
        for trig in so["spec"]["triggers"]:
            if trig["type"] != "kafka":
                continue
            m = trig["metadata"]
            if m.get("consumerGroup") != ks.group_id:
                problems.append(f"{ref(so)}: consumerGroup {m.get('consumerGroup')} is not ingest's group {ks.group_id}")
            if m.get("topic") != ks.object_topic:
                problems.append(f"{ref(so)}: topic {m.get('topic')} is not the object topic {ks.object_topic}")
            if m.get("bootstrapServers") != f"{bootstrap}.{namespace}.svc:{port}":
                problems.append(f"{ref(so)}: bootstrapServers must be {bootstrap}.{namespace}.svc:{port} (KEDA runs in another namespace)")
            partitions = topics.get(ks.object_topic, {}).get("spec", {}).get("partitions", 0)
            if so["spec"].get("maxReplicaCount", 100) > partitions:
                problems.append(f"{ref(so)}: maxReplicaCount is above the object topic's {partitions} partitions (the rest would sit idle)")
            if so["spec"].get("minReplicaCount", 0) < 1:
                problems.append(f"{ref(so)}: minReplicaCount must be at least 1 (with none, KEDA cannot see a group that never committed)")
    return problems


def minio_problems(docs: list[dict]) -> list[str]:
    """MinIO's Kafka notification target against the topic, brokers and ARN Pravah uses."""
    sets = find(docs, "StatefulSet")
    minio = [(wl, c) for wl in sets for c in containers(wl["spec"]["template"]["spec"]) if c["name"] == "minio"]
    if not minio:
        return []
    problems = []
    (wl, c), s, ks = minio[0], settings(docs), kafka_settings(docs)
    env = env_of(c)
    m = re.fullmatch(r"arn:minio:sqs::(\w+):kafka", s.get("PRAVAH_S3__NOTIFY_ARN", ""))
    if m is None:
        return [f"PRAVAH_S3__NOTIFY_ARN must name MinIO's Kafka target (arn:minio:sqs::TARGET:kafka), not {s.get('PRAVAH_S3__NOTIFY_ARN')}"]
    target = m.group(1)
    expected = {f"MINIO_NOTIFY_KAFKA_ENABLE_{target}": "on", f"MINIO_NOTIFY_KAFKA_TOPIC_{target}": ks.object_topic,
                f"MINIO_NOTIFY_KAFKA_BROKERS_{target}": ks.bootstrap_servers}
    for k, v in expected.items():
        if env.get(k) != v:
            problems.append(f"{ref(wl)}: {k} must be {v!r} (got {env.get(k)!r})")
    services = {(svc["metadata"]["name"], p["port"]) for svc in find(docs, "Service") for p in svc["spec"]["ports"]
                if all(wl["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in svc["spec"].get("selector", {}).items())}
    endpoint = re.fullmatch(r"http://([\w.-]+):(\d+)", s.get("PRAVAH_S3__ENDPOINT", ""))
    if endpoint is None or (endpoint.group(1), int(endpoint.group(2))) not in services:
        problems.append(f"PRAVAH_S3__ENDPOINT {s.get('PRAVAH_S3__ENDPOINT')} is not a port of a Service of {ref(wl)}")
    return problems


def postgres_problems(docs: list[dict]) -> list[str]:
    """The Secret and pod labels Pravah, KEDA and the policies expect from the CloudNativePG Cluster."""
    clusters = find(docs, "Cluster")
    if not clusters:
        return []
    name = clusters[0]["metadata"]["name"]
    app_secret = f"{name}-app"  # the Secret CloudNativePG makes for the application owner
    problems = []
    for wl, pod in pod_templates(docs):
        for c in containers(pod):
            for e in c.get("env", []):
                key_ref = e.get("valueFrom", {}).get("secretKeyRef", {})
                if key_ref.get("name", "").startswith("pravah-db") and key_ref["name"] != app_secret:
                    problems.append(f"{ref(wl)}: {e['name']} reads Secret {key_ref['name']}; the Cluster's is {app_secret}")
    for ta in find(docs, "TriggerAuthentication"):
        for r in ta["spec"].get("secretTargetRef", []):
            if r["name"] != app_secret or r["key"] != "fqdn-uri":
                problems.append(f"{ref(ta)}: {r['parameter']} must come from {app_secret} key fqdn-uri (KEDA runs in another namespace)")
    for policy in find(docs, "NetworkPolicy") + find(docs, "PodMonitor"):
        text = repr(policy["spec"])
        for value in re.findall(r"'cnpg\.io/cluster': '([^']*)'", text):
            if value != name:
                problems.append(f"{ref(policy)}: selects cnpg.io/cluster={value}; the Cluster is {name}")
    return problems


SQL_WORDS = {"select", "count", "from", "where", "and", "or", "not", "now", "in", "is", "null", "coalesce", "as"}


def worker_scaler_problems(docs: list[dict]) -> list[str]:
    """The workers' postgresql query reads columns and statuses that exist, and their target is the
    concurrency of one worker."""
    problems = []
    columns = {c.name for c in Job.__table__.columns} | {Job.__tablename__}
    statuses = {v for k, v in vars(Status).items() if k.isupper() and isinstance(v, str)}
    for so in find(docs, "ScaledObject"):
        for trig in so["spec"]["triggers"]:
            if trig["type"] != "postgresql":
                continue
            query = trig["metadata"]["query"]
            for literal in re.findall(r"'([^']*)'", query):
                if literal not in statuses:
                    problems.append(f"{ref(so)}: {literal!r} is not a job status ({', '.join(sorted(statuses))})")
            for word in re.findall(r"[a-z_][a-z0-9_]*", re.sub(r"'[^']*'", "", query).lower()):
                if word not in SQL_WORDS and word not in columns:
                    problems.append(f"{ref(so)}: {word!r} in the query is not a column of {Job.__tablename__}")
            concurrency = settings(docs).get("PRAVAH_WORKER__CONCURRENCY")
            if trig["metadata"].get("targetQueryValue") != concurrency:
                problems.append(f"{ref(so)}: targetQueryValue must be PRAVAH_WORKER__CONCURRENCY ({concurrency}): jobs one worker runs at once")
        target = so["spec"]["scaleTargetRef"]["name"]
        if not find(docs, "Deployment", target):
            problems.append(f"{ref(so)}: scales Deployment {target}, which is not in the manifests")
    return problems


def namespace_problems(docs: list[dict]) -> list[str]:
    spaces = {d["metadata"]["name"] for d in find(docs, "Namespace")}
    return [f"{ref(d)}: namespace {d['metadata'].get('namespace')} is not the overlay's Namespace {sorted(spaces)}"
            for d in docs if d["kind"] != "Namespace" and d["metadata"].get("namespace") not in spaces]


CHECKS = (kafka_problems, minio_problems, postgres_problems, worker_scaler_problems, namespace_problems)
