"""Event payloads of MinIO, AWS S3 and EventBridge into ObjectEvents; bad ones into reasons."""

from __future__ import annotations

import json

import pytest

from pravah.events import EventFormatError, parse_message


def s3_record(key: str, name: str = "ObjectCreated:Put", source: str = "aws:s3", **obj: object) -> dict:
    return {
        "eventVersion": "2.1", "eventSource": source, "eventTime": "2026-11-22T10:00:00.000Z", "eventName": name,
        "s3": {"bucket": {"name": "inbox"}, "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": "01", **obj}},
    }


# As MinIO published it on Kafka (trimmed), for a key uploaded as "sales/a b+c%.csv".
MINIO = {
    "EventName": "s3:ObjectCreated:Put",
    "Key": "inbox/sales/a b+c%.csv",
    "Records": [s3_record("sales%2Fa+b%2Bc%25.csv", name="s3:ObjectCreated:Put", source="minio:s3")],
}


def test_minio_record_key_is_url_decoded():
    (ev,) = parse_message(json.dumps(MINIO).encode()).events
    assert (ev.bucket, ev.key, ev.size, ev.etag, ev.object_version) == ("inbox", "sales/a b+c%.csv", 10, "abc", "abc")
    assert ev.event_time.year == 2026 and ev.event_time.tzinfo is not None


def test_zero_byte_object_without_size():
    rec = s3_record("empty.csv")
    del rec["s3"]["object"]["size"]  # as MinIO sends it for an empty upload
    (ev,) = parse_message(json.dumps({"Records": [rec]}).encode()).events
    assert ev.size == 0


def test_aws_records_several_per_message_and_version_id():
    msg = {"Records": [s3_record("a.csv", versionId="v1"), s3_record("b%2Fc.csv", name="ObjectCreated:CompleteMultipartUpload")]}
    evs = parse_message(json.dumps(msg).encode()).events
    assert [(e.key, e.object_version) for e in evs] == [("a.csv", "v1"), ("b/c.csv", "abc")]


def test_removals_and_test_events_make_no_events():
    msg = {"Records": [s3_record("a.csv", name="ObjectRemoved:Delete"), s3_record("b.csv", name="s3:ObjectRemoved:Delete"),
                       s3_record("c.csv")]}
    parsed = parse_message(json.dumps(msg).encode())
    assert [e.key for e in parsed.events] == ["c.csv"] and parsed.skipped == 2
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-22T10:00:00Z", "Bucket": "inbox"}
    assert parse_message(json.dumps(test_event).encode()).events == []


def test_eventbridge_object_created():
    msg = {
        "version": "0", "detail-type": "Object Created", "source": "aws.s3", "time": "2026-11-22T10:00:00Z",
        "detail": {"bucket": {"name": "inbox"}, "object": {"key": "raw/x+y.csv", "size": 5, "etag": "e1", "version-id": "v9"}},
    }
    (ev,) = parse_message(json.dumps(msg).encode()).events
    assert (ev.key, ev.object_version) == ("raw/x+y.csv", "v9")  # EventBridge keys are not URL-encoded
    other = {**msg, "detail-type": "Object Deleted"}
    assert parse_message(json.dumps(other).encode()).events == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"hello": 1}', "no Records list"),
        (json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}).encode(), "Records[0].s3: missing"),
        (json.dumps({"Records": [s3_record("a.csv", size="10")]}).encode(), "Records[0].s3.object.size: expected int, got str"),
        (json.dumps({"Records": [s3_record("")]}).encode(), "Records[0].s3.object.key: empty"),
        (json.dumps({"Records": [{**s3_record("a"), "eventTime": "yesterday"}]}).encode(), "Records[0].eventTime: not an ISO time"),
        (json.dumps({"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}}}).encode(), "detail.object: missing"),
    ],
)
def test_malformed_payloads_name_the_field(payload: bytes, reason: str):
    with pytest.raises(EventFormatError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_message(payload)


def test_committed_asyncapi_document_matches_the_code(monkeypatch: pytest.MonkeyPatch):
    from pathlib import Path

    from pravah.bus import asyncapi
    from pravah.settings import KafkaSettings

    committed = json.loads((Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json").read_text())
    assert committed == json.loads(asyncapi(KafkaSettings())), "regenerate: pravah asyncapi > docs/asyncapi.json"
    assert {c["address"] for c in committed["channels"].values()} == {
        "pravah.objects", "pravah.objects.dlq", "pravah.jobs.succeeded", "pravah.jobs.failed"}


@pytest.mark.parametrize(("key", "why"), [("sales/%E0%A4%A.csv", "broken percent-escape at character 12"),
                                          ("sales/%zz.csv", "broken percent-escape at character 6"),
                                          ("sales/%E0%A4.csv", "not UTF-8")])
def test_a_key_that_does_not_decode_is_an_error_not_a_guess(key: str, why: str):
    with pytest.raises(EventFormatError, match=why) as e:
        parse_message(json.dumps({"Records": [s3_record(key)]}).encode())
    assert "Records[0].s3.object.key" in str(e.value)


def test_a_decoded_key_keeps_its_utf8():
    (ev,) = parse_message(json.dumps({"Records": [s3_record("d%C3%A9j%C3%A0+vu/%E0%A4%AA.csv")]}).encode()).events
    assert ev.key == "déjà vu/प.csv"
