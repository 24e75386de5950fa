"""What wiring reads from MinIO's get-config and from the settings, without a MinIO (the real
one is in tests/services/test_minio_wiring.py)."""

from __future__ import annotations

import pytest

from pravah.settings import KafkaSettings, S3Settings
from pravah.storage.minio_wiring import WiringError, desired, live_status, parse_config, target_id

DEFAULT = ("notify_kafka enable=off topic= brokers= sasl_username= sasl_password= sasl_mechanism=plain tls_client_auth=0 sasl=off "
           "queue_limit=0 queue_dir= version= batch_size=0 ")


@pytest.mark.parametrize(
    ("text", "kvs", "env"),
    [
        (DEFAULT + "\n", None, {}),
        (DEFAULT + "\nnotify_kafka:P topic=t brokers=k:9092 queue_limit=0 queue_dir= \n",
         {"enable": "on", "topic": "t", "brokers": "k:9092", "queue_limit": "0", "queue_dir": ""}, {}),
        ('notify_kafka:P topic=t queue_limit=5 queue_dir="/a b/q" \n', {"enable": "on", "topic": "t", "queue_limit": "5", "queue_dir": "/a b/q"}, {}),
        ("notify_kafka:P enable=off topic=t \n", {"enable": "off", "topic": "t"}, {}),
        ("notify_kafka:PP topic=t \n", None, {}),
        ("# MINIO_NOTIFY_KAFKA_TOPIC_X_P=x\nnotify_kafka:X_P \n# MINIO_NOTIFY_KAFKA_ENABLE_P=on\n# MINIO_NOTIFY_KAFKA_QUEUE_DIR_P=/q\nnotify_kafka:P \n"
         "# MINIO_NOTIFY_KAFKA_TOPIC_Q=y\nnotify_kafka:Q \n", {"enable": "on"}, {"enable": "on", "queue_dir": "/q"}),
        ("# MINIO_NOTIFY_KAFKA_TOPIC_Q=x\nnotify_kafka:Q \n", None, {}),
    ],
)
def test_parse_config(text: str, kvs: dict[str, str] | None, env: dict[str, str]) -> None:
    assert parse_config(text, "P") == (kvs, env)


@pytest.mark.parametrize(
    ("arn", "target"),
    [("arn:minio:sqs::PRAVAH:kafka", "PRAVAH"), ("arn:minio:sqs:us-east-1:p_1-x:kafka", "p_1-x")],
)
def test_target_id(arn: str, target: str) -> None:
    assert target_id(arn) == target


@pytest.mark.parametrize("arn", ["PRAVAH", "arn:minio:sqs::PRAVAH:webhook", "arn:minio:sqs::PRAVAH:kafak", "arn:aws:sqs:us-east-1:123:q",
                                 "arn:minio:sqs::A B:kafka", "arn:minio:sqs:::kafka"])
def test_not_a_kafka_target(arn: str) -> None:
    with pytest.raises(WiringError, match="not the ARN of a MinIO Kafka target"):
        target_id(arn)


def test_desired_follows_the_settings() -> None:
    k = KafkaSettings(bootstrap_servers="pravah:9092", object_topic="objs")
    direct = desired(S3Settings(), k)
    assert direct.kvs == {"enable": "on", "brokers": "pravah:9092", "topic": "objs", "queue_dir": ""} and direct.mode == "direct"
    queued = desired(S3Settings(notify_queue_dir="/q", notify_queue_limit=7, notify_brokers="kafka.minio:9092"), k)
    assert queued.kvs == {"enable": "on", "brokers": "kafka.minio:9092", "topic": "objs", "queue_dir": "/q", "queue_limit": "7"}


def test_live_status() -> None:
    info = {"services": {"notifications": [{"webhook": [{"P": {"status": "online"}}]}, {"kafka": [{"Q": {"status": "online"}}, {"P": {"status": "offline"}}]}]}}
    assert live_status(info, "P") == "offline" and live_status(info, "Q") == "online" and live_status(info, "R") is None
    assert live_status({}, "P") is None
