"""Fuzzing the Python-side parsers with hypothesis: the event parser and the pipeline YAML
loader take any bytes and either succeed or raise their own error, never anything else.
`make fuzz` runs these same properties for minutes (scripts/fuzz.py); here they run briefly."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pravah import pipelines
from pravah.events import EventFormatError, parse_message

EXAMPLES = int(os.environ.get("PRAVAH_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


def event_like() -> st.SearchStrategy[dict]:
    """Notification-shaped documents with every field possibly missing or of the wrong type."""
    obj = st.fixed_dictionaries({}, optional={"key": json_value | st.text(), "size": json_value | st.integers(), "eTag": json_value,
                                              "versionId": json_value, "sequencer": json_value})
    s3 = st.fixed_dictionaries({}, optional={"bucket": st.fixed_dictionaries({}, optional={"name": json_value | st.text()}) | json_value,
                                             "object": obj | json_value})
    record = st.fixed_dictionaries({}, optional={"eventName": st.sampled_from(["s3:ObjectCreated:Put", "ObjectRemoved:Delete", "x"]) | json_value,
                                                 "eventTime": st.text(max_size=30) | json_value, "s3": s3 | json_value})
    return st.one_of(
        st.fixed_dictionaries({"Records": st.lists(record | json_value, max_size=4)}),
        st.fixed_dictionaries({"detail-type": st.sampled_from(["Object Created", "Object Deleted"]) | json_value,
                               "detail": st.fixed_dictionaries({}, optional={"bucket": json_value, "object": obj | json_value}) | json_value}),
        st.dictionaries(st.text(max_size=10), json_value, max_size=5),
    )


def check_event(raw: bytes) -> None:
    try:
        parsed = parse_message(raw)
    except EventFormatError as e:
        assert str(e)
        return
    for ev in parsed.events:
        assert isinstance(ev.key, str) and ev.key and isinstance(ev.size, int) and ev.bucket


@SETTINGS
@given(st.binary(max_size=300))
def test_event_parser_on_any_bytes(raw: bytes) -> None:
    check_event(raw)


@SETTINGS
@given(event_like())
def test_event_parser_on_event_shaped_json(doc: dict) -> None:
    check_event(json.dumps(doc).encode())


VALID = Path(__file__).resolve().parents[2] / "pipelines" / "examples.yaml"
yaml_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.sampled_from(
    ["read_csv", "write_parquet", "grep", "gzip", "{stem}", "../x", "out/{nope}", "qty >", "inbox", "sales/"]))


def check_yaml(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "p.yaml"
        f.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            pipelines.load(f)
        except pipelines.InvalidPipelines as e:
            assert e.problems and all(p.message for p in e.problems)
        except UnicodeDecodeError:
            pass  # not text at all: the CLI reports the file as unreadable


@SETTINGS
@given(st.text(max_size=300))
def test_yaml_loader_on_any_text(text: str) -> None:
    check_yaml(text)


@SETTINGS
@given(st.data())
def test_yaml_loader_on_mutated_examples(data: st.DataObject) -> None:
    lines = VALID.read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["drop", "dup", "replace", "indent"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " * data.draw(st.integers(0, 6)) + lines[i].lstrip()
        else:
            head = lines[i].split(":")[0]
            lines[i] = f"{head}: {json.dumps(data.draw(yaml_scalar))}"
        if not lines:
            break
    check_yaml("\n".join(lines))
