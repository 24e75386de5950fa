"""Bucket notification configuration derived from bindings."""

from __future__ import annotations

from pravah import notify
from pravah.pipelines import Binding, Document, Pipeline

ARN = "arn:minio:sqs::PRAVAH:kafka"


def doc(*bindings: tuple[str, str]) -> Document:
    p = Pipeline(name="p", steps=[{"op": "read_csv"}, {"op": "write_parquet"}], output="out/{stem}.parquet")
    return Document(pipelines=[p], bindings=[Binding(bucket=b, prefix=pre, pipeline="p") for b, pre in bindings])


def test_covering_prefixes_drop_what_is_covered():
    assert notify.covering_prefixes(["a/b/", "a/", "c", "c/d", "e/"]) == ["a/", "c", "e/"]
    assert notify.covering_prefixes(["x/", ""]) == [""]


def test_desired_rules_per_bucket():
    d = doc(("inbox", "sales/"), ("inbox", "sales/eu/"), ("inbox", "logs/"), ("other", ""))
    rules = notify.desired(d, "inbox", ARN)
    assert [r["Filter"]["Key"]["FilterRules"][0]["Value"] for r in rules] == ["logs/", "sales/"]
    assert all(r["Events"] == ["s3:ObjectCreated:*"] and r["QueueArn"] == ARN for r in rules)
    (whole,) = notify.desired(d, "other", ARN)
    assert "Filter" not in whole
    assert notify.desired(d, "nobody", ARN) == []


def test_merged_keeps_foreign_entries_and_replaces_ours():
    existing = {
        "ResponseMetadata": {},
        "QueueConfigurations": [{"Id": "pravah-0", "QueueArn": ARN, "Events": ["s3:ObjectCreated:*"]},
                                {"Id": "theirs", "QueueArn": "arn:other", "Events": ["s3:ObjectRemoved:*"]}],
        "TopicConfigurations": [{"Id": "t", "TopicArn": "arn:t", "Events": ["s3:ObjectCreated:*"]}],
    }
    new = [{"Id": "pravah-0", "QueueArn": ARN, "Events": ["s3:ObjectCreated:*"], "Filter": {}}]
    m = notify.merged(existing, new)
    assert [q["Id"] for q in m["QueueConfigurations"]] == ["theirs", "pravah-0"]
    assert m["QueueConfigurations"][1]["Filter"] == {} and m["TopicConfigurations"] == existing["TopicConfigurations"]
    assert "ResponseMetadata" not in m
    assert "QueueConfigurations" not in notify.merged({"QueueConfigurations": existing["QueueConfigurations"][:1]}, [])
