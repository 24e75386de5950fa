"""Bucket notification configuration derived from bindings (`pravah apply`).

Each bound bucket sends ObjectCreated events for the smallest set of non-overlapping prefixes
that covers its bindings; suffixes and globs are matched by ingest, because S3 rejects
overlapping filter rules and cannot express globs. A PUT replaces a bucket's whole
configuration, so we read it, keep entries that are not ours, replace ours, and write it back.
"""

from __future__ import annotations

from typing import Any

from pravah.pipelines import Document

OURS = "pravah-"


def covering_prefixes(prefixes: list[str]) -> list[str]:
    """Drop every prefix another one already covers: ["a/", "a/b/", "c"] → ["a/", "c"]."""
    keep: list[str] = []
    for p in sorted(set(prefixes)):
        if not any(p.startswith(k) for k in keep):
            keep.append(p)
    return keep


def desired(doc: Document, bucket: str, arn: str) -> list[dict[str, Any]]:
    """Our QueueConfigurations for `bucket` (empty when nothing binds it)."""
    prefixes = covering_prefixes([b.prefix for b in doc.bindings if b.bucket == bucket])
    out = []
    for i, prefix in enumerate(prefixes):
        cfg: dict[str, Any] = {"Id": f"{OURS}{i}", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}
        if prefix:
            cfg["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}
        out.append(cfg)
    return out


def merged(existing: dict[str, Any], ours: list[dict[str, Any]]) -> dict[str, Any]:
    """`existing` with our queue entries replaced by `ours`; other entries kept as they were."""
    cfg = {k: v for k, v in existing.items() if k != "ResponseMetadata"}
    queues = [q for q in cfg.get("QueueConfigurations", []) if not q.get("Id", "").startswith(OURS)] + ours
    if queues:
        cfg["QueueConfigurations"] = queues
    else:
        cfg.pop("QueueConfigurations", None)
    return cfg


def sync(client: Any, doc: Document, previous: Document | None, arn: str) -> dict[str, int]:
    """Create missing buckets, then write each affected bucket's configuration whole.
    Buckets the previous document bound and this one does not get our entries removed.
    Returns {bucket: number of our entries}."""
    bound = {b.bucket for b in doc.bindings}
    outputs = {p.output_bucket for p in doc.pipelines if "{" not in p.output_bucket}
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in sorted((bound | outputs) - existing):
        client.create_bucket(Bucket=bucket)
    affected = bound | ({b.bucket for b in previous.bindings} if previous else set())
    written = {}
    for bucket in sorted(affected):
        if bucket not in bound and bucket not in existing:
            continue
        ours = desired(doc, bucket, arn)
        current = client.get_bucket_notification_configuration(Bucket=bucket)
        client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=merged(current, ours))
        written[bucket] = len(ours)
    return written


def unknown_target(e: Exception) -> bool:
    """Whether the store refused a configuration for naming a target it does not run: MinIO and
    S3 both answer InvalidArgument about the destination ARN."""
    error = getattr(e, "response", {}).get("Error", {})
    return bool(error.get("Code") == "InvalidArgument" and "destination" in str(error.get("Message", "")).lower())
