"""Names that must agree across objects and with Pravah's code: topics, the consumer group, the
Services and Secrets the operators create, the notification target, the workers' scaling query,
the ports each role serves its probes and /metrics on, and the workers' stop grace."""

from __future__ import annotations

import re

from pravah.api.serve import is_loopback
from pravah.db.models import Job, Status
from pravah.pipelines import DEFAULT_POOL
from pravah.pools.desired import runnable_query
from pravah.settings import ApiSettings, KafkaSettings, OpsSettings, WorkerSettings
from pravah.worker import HAND_BACK_SECONDS

from k8s.manifests import containers, find, one, pod_templates, pravah_workloads, ref
from k8s.policy import selects


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
                if literal not in statuses and literal != DEFAULT_POOL:
                    problems.append(f"{ref(so)}: {literal!r} is not a job status ({', '.join(sorted(statuses))})")
            if query != runnable_query(DEFAULT_POOL):
                problems.append(f"{ref(so)}: the query must count the default pool's jobs as the controller counts every other "
                                f"pool's (pools/desired.py runnable_query): {runnable_query(DEFAULT_POOL)}")
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


def effective(docs: list[dict], container: dict, name: str, default: object) -> str:
    """A PRAVAH_* setting as the container sees it: its own env, else the ConfigMap, else the code's default."""
    return env_of(container).get(name, settings(docs).get(name, str(default)))


def port_problems(docs: list[dict]) -> list[str]:
    """Each role's probes go to the port that serves /healthz and /readyz, and its port named
    metrics is the one that serves /metrics without credentials, reachable by Prometheus: the API
    on PRAVAH_API__PORT and PRAVAH_API__METRICS_PORT, the other roles both on PRAVAH_OPS__PORT."""
    problems = []
    for wl in pravah_workloads(docs):
        role = wl["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        for c in wl["spec"]["template"]["spec"]["containers"]:
            where = f"{ref(wl)} container {c['name']}"
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            if role == "api":
                probes = int(effective(docs, c, "PRAVAH_API__PORT", ApiSettings().port))
                metrics = int(effective(docs, c, "PRAVAH_API__METRICS_PORT", ApiSettings().metrics_port))
                setting = "PRAVAH_API__METRICS_PORT"
            else:
                probes = metrics = int(effective(docs, c, "PRAVAH_OPS__PORT", OpsSettings().port))
                setting = "PRAVAH_OPS__PORT"
                host = effective(docs, c, "PRAVAH_OPS__HOST", OpsSettings().host)
                if is_loopback(host):
                    problems.append(f"{where}: PRAVAH_OPS__HOST is {host}; the kubelet and Prometheus cannot reach a loopback address")
            if ports.get("metrics") != metrics:
                problems.append(f"{where}: its port named metrics is {ports.get('metrics')}, but {setting} serves /metrics on {metrics}")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = c.get(probe, {}).get("httpGet")
                if get is not None and ports.get(get["port"], get["port"]) != probes:
                    problems.append(f"{where}: {probe} goes to port {get['port']!r}, but the probes are served on {probes}")
            open_to_monitoring = any(
                selects(np["spec"]["podSelector"], wl["spec"]["template"]["metadata"]["labels"])
                and any(any(f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "monitoring"
                            for f in rule.get("from", []))
                        and any(p.get("port") in (metrics, "metrics") for p in rule.get("ports", []))
                        for rule in np["spec"].get("ingress", []))
                for np in find(docs, "NetworkPolicy"))
            if not open_to_monitoring:
                problems.append(f"{where}: no NetworkPolicy lets the monitoring namespace in on its metrics port {metrics}")
    return problems


def stop_problems(docs: list[dict]) -> list[str]:
    """A stopping worker's pod outlives the grace its jobs get, plus the time to hand the rest back."""
    problems = []
    for wl in pravah_workloads(docs):
        if wl["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") != "worker":
            continue
        pod = wl["spec"]["template"]["spec"]
        budget = pod.get("terminationGracePeriodSeconds", 30)  # Kubernetes' default
        for c in pod["containers"]:
            grace = float(effective(docs, c, "PRAVAH_WORKER__GRACE_SECONDS", WorkerSettings().grace_seconds))
            if budget < grace + HAND_BACK_SECONDS + 1:
                problems.append(f"{ref(wl)}: terminationGracePeriodSeconds {budget} leaves no time after PRAVAH_WORKER__GRACE_SECONDS "
                                f"({grace:g}) to hand unfinished jobs back (needs {grace + HAND_BACK_SECONDS + 1:g})")
    return problems


def namespace_problems(docs: list[dict]) -> list[str]:
    spaces = {d["metadata"]["name"] for d in find(docs, "Namespace")}
    return [f"{ref(d)}: namespace {d['metadata'].get('namespace')} is not the overlay's Namespace {sorted(spaces)}"
            for d in docs if d["kind"] != "Namespace" and d["metadata"].get("namespace") not in spaces]


CHECKS = (kafka_problems, minio_problems, postgres_problems, worker_scaler_problems, port_problems, stop_problems, namespace_problems)
