"""The pipeline language: every mistake reported, with file, line and field path."""

import textwrap
from pathlib import Path

import pytest

from pravah import pipelines
from pravah.events import ObjectEvent
from pravah.routing import OutputKeyError, Router, render_output

GOOD = """
pipelines:
  - name: p
    steps: [read_csv, write_parquet]
    output: outbox/{pipeline}/{stem}.parquet
bindings:
  - { bucket: inbox, prefix: a/, pipeline: p }
"""


def problems(tmp_path, text):
    f = tmp_path / "p.yaml"
    f.write_text(textwrap.dedent(text))
    with pytest.raises(pipelines.InvalidPipelines) as e:
        pipelines.load(f)
    return e.value.problems


def test_the_seed_stories_validate():
    doc = pipelines.load(Path(__file__).resolve().parents[2] / "docs" / "seed-stories.yaml")
    assert {p.name for p in doc.pipelines} == {"csv-to-parquet", "compress-logs", "unzip-photos", "thumbnails"}
    assert doc.pipeline("compress-logs").delete_input and doc.pipeline("unzip-photos").limits.max_outputs == 100_000


def test_examples_validate():
    doc = pipelines.load("pipelines")
    assert {p.name for p in doc.pipelines} >= {"sales-parquet", "error-lines", "events-parquet", "sales-by-region"}


def test_good_document(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(GOOD)
    doc = pipelines.load(f)
    assert doc.pipelines[0].steps == [{"op": "read_csv"}, {"op": "write_parquet"}]


CASES = [
    # (yaml body of one pipeline's fields, expected line, expected path, message fragment)
    ("steps: [read_csv: {delimeter: ';'}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[0].read_csv.delimeter", "unknown option 'delimeter'"),
    ("steps: [frob]\noutput: o/x", 3, "pipelines[0].steps[0].frob", "unknown step 'frob'"),
    ("steps: [read_csv: {encoding: klingon}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[0].read_csv", "encoding \"klingon\" is not known"),
    ("steps: [read_csv: {decimal: ','}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[0].read_csv", "needs another delimiter"),
    ("steps: [read_csv: {on_bad_rows: ignore}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[0].read_csv", "unknown value for read_csv: 'ignore'; expected one of fail, skip, quarantine"),
    ("steps: [read_csv: {max_bad_rows: '150%'}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[0].read_csv", "max_bad_rows must be"),
    ("steps: [read_csv, {filter: {where: 'qty >'}}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[1].filter.where", "Expected"),
    ("steps: [read_csv, {filter: {where: 'nosuch(a)'}}, write_csv]\noutput: o/x", 3, "pipelines[0].steps[1].filter.where", "unknown function nosuch"),
    ("steps: [write_csv, read_csv]\noutput: o/x", 3, "pipelines[0].steps[0].write_csv", "needs a table"),
    ("steps: [read_csv]\noutput: o/x", 3, "pipelines[0].steps[0].read_csv", "must write it"),
    ("steps: [read_csv, write_parquet, gzip]\noutput: o/x", 3, "pipelines[0].steps[2].gzip", "cannot compress Parquet"),
    ("steps: [grep: {pattern: x}]\noutput: o/../x", 4, "pipelines[0].output", "'..'"),
    ("steps: [grep: {pattern: x}]\noutput: o/{nope}", 4, "pipelines[0].output", "unknown placeholder {nope}"),
    ("steps: [grep: {pattern: x}]\noutput: o/x\ncolour: red", 5, "pipelines[0].colour", "Extra inputs"),
    ("steps: []\noutput: o/x", 3, "pipelines[0].steps", "at least 1"),
    ("steps: [grep: {pattern: x}]\noutput: o/x\nretries: -1", 5, "pipelines[0].retries", "greater than or equal"),
    ("steps: [grep: {pattern: x}]\noutput: o/x\nname2: y", 5, "pipelines[0].name2", "Extra inputs"),
    # a YAML `yes` was a limit of one byte (ByteSize takes what int() takes), failing every job
    ("steps: [grep: {pattern: x}]\noutput: o/x\nlimits: {max_input_bytes: yes}", 5, "pipelines[0].limits.max_input_bytes", "whole number of bytes"),
    ("steps: [grep: {pattern: x}]\noutput: o/x\nlimits: {memory_bytes: 2.0}", 5, "pipelines[0].limits.memory_bytes", "whole number of bytes"),
    # YAML reads a \\ud800 escape as half a character; the engine could not take it (a TypeError)
    ('steps: [grep: {pattern: "a\\ud800"}]\noutput: o/x', 3, "pipelines[0].steps[0].grep.pattern", "half of a surrogate pair alone (\\ud800)"),
]


def test_an_escaped_pair_is_one_character(tmp_path):
    """JSON writes a character past U+FFFF as a pair of escapes; YAML reads each half alone."""
    f = tmp_path / "p.yaml"
    f.write_text('pipelines:\n  - {name: p, steps: [{grep: {pattern: "\\ud83d\\ude00"}}], output: "o/{stem}"}\n')
    assert pipelines.load(f).pipelines[0].steps == [{"op": "grep", "pattern": "\U0001F600"}]


@pytest.mark.parametrize("body,line,path,fragment", CASES)
def test_pipeline_mistakes(tmp_path, body, line, path, fragment):
    text = "pipelines:\n  - name: p\n" + textwrap.indent(body, "    ") + "\n"
    found = problems(tmp_path, text)
    match = [p for p in found if p.path == path]
    assert match, f"no problem at {path}: {found}"
    assert match[0].line == line, found
    assert fragment in match[0].message, match[0].message


def test_every_error_is_reported(tmp_path):
    found = problems(
        tmp_path,
        """
        pipelines:
          - name: a
            steps: [read_csv: {delimeter: ';'}, {filter: {where: 'x >'}}, write_csv]
            output: o/../x
          - name: b
            steps: [frob]
            output: o/y
        bindings:
          - { bucket: inbox, prefix: x/, pipeline: missing }
        """,
    )
    paths = {p.path for p in found}
    assert {"pipelines[0].steps[0].read_csv.delimeter", "pipelines[0].steps[1].filter.where", "pipelines[1].steps[0].frob", "bindings[0].pipeline"} <= paths
    assert all(str(p).startswith(str(tmp_path)) for p in found)


def test_output_under_watched_prefix_is_a_loop(tmp_path):
    found = problems(
        tmp_path,
        """
        pipelines:
          - name: p
            steps: [read_csv, write_csv]
            output: inbox/sales/{stem}.out.csv
        bindings:
          - { bucket: inbox, prefix: sales/, pipeline: p }
        """,
    )
    assert any("trigger itself forever" in p.message and p.line == 5 for p in found), found


def test_output_with_other_suffix_is_not_a_loop(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        textwrap.dedent(
            """
            pipelines:
              - name: p
                steps: [read_csv, write_parquet]
                output: "{bucket}/sales/{stem}.parquet"
            bindings:
              - { bucket: inbox, prefix: sales/, suffix: .csv, pipeline: p }
            """
        )
    )
    pipelines.load(f)


def test_ambiguous_bindings(tmp_path):
    found = problems(tmp_path, GOOD + "  - { bucket: inbox, prefix: a/, pipeline: p }\n")
    assert any("ambiguous" in p.message for p in found)


def test_bad_yaml_names_line(tmp_path):
    found = problems(tmp_path, "pipelines:\n  - name: [unclosed\n")
    assert found[0].line >= 2 and "not valid YAML" in found[0].message


def ev(key, bucket="inbox"):
    from datetime import UTC, datetime

    return ObjectEvent(bucket=bucket, key=key, size=1, etag="e", event_time=datetime.now(UTC))


def test_most_specific_binding_wins():
    doc = pipelines.validate(
        {
            "pipelines": [
                {"name": n, "steps": ["sha256"], "output": f"outbox/{n}/{{name}}.sha256"} for n in ("all", "sales", "csv")
            ],
            "bindings": [
                {"bucket": "inbox", "prefix": "", "pipeline": "all"},
                {"bucket": "inbox", "prefix": "sales/", "pipeline": "sales"},
                {"bucket": "inbox", "prefix": "sales/", "suffix": ".csv", "pipeline": "csv"},
            ],
        }
    )
    r = Router(doc)
    assert r.route(ev("x.txt")).pipeline.name == "all"
    assert r.route(ev("sales/x.txt")).pipeline.name == "sales"
    assert r.route(ev("sales/x.csv")).pipeline.name == "csv"
    assert r.route(ev("x.txt", bucket="other")) is None


def test_render_output():
    from datetime import UTC, datetime

    p = pipelines.Pipeline(name="p", steps=[{"op": "sha256"}], output="outbox/{pipeline}/{dir}/{stem}-{date}.{ext}")
    bucket, key = render_output(p, ev("a/b/file.csv.gz"), "j1", datetime(2024, 5, 1, tzinfo=UTC))
    assert (bucket, key) == ("outbox", "p/a/b/file-2024-05-01.csv.gz")
    with pytest.raises(OutputKeyError):
        render_output(pipelines.Pipeline(name="p", steps=[{"op": "sha256"}], output="outbox/{dir}"), ev("../x"), "j", datetime.now(UTC))


def test_a_chain_is_fine_and_a_cycle_through_another_pipeline_is_a_loop(tmp_path):
    chain = """
        pipelines:
          - { name: unzip, steps: [unzip], output: "photos/{stem}/" }
          - { name: thumbs, steps: [thumbnail], output: "thumbs/{key}" }
        bindings:
          - { bucket: inbox, suffix: .zip, pipeline: unzip }
          - { bucket: photos, suffix: .jpg, pipeline: thumbs }
        """
    f = tmp_path / "chain.yaml"
    f.write_text(textwrap.dedent(chain))
    assert [p.name for p in pipelines.load(f).pipelines] == ["unzip", "thumbs"]
    # The same chain, but its second pipeline writes a .zip back into the inbox.
    cycle = chain.replace('{ name: thumbs, steps: [thumbnail], output: "thumbs/{key}" }',
                          '{ name: rezip, steps: [gzip], output: "inbox/{key}.zip" }').replace("pipeline: thumbs", "pipeline: rezip")
    found = problems(tmp_path, cycle)
    assert any("whose pipeline 'rezip' leads back here" in p.message and "trigger itself forever" in p.message for p in found), found
    # An unzip's members may have any name: a binding on its own input bucket's suffix is a loop.
    selfish = """
        pipelines:
          - { name: unzip, steps: [unzip], output: "inbox/unpacked/{stem}/" }
        bindings:
          - { bucket: inbox, suffix: .zip, pipeline: unzip }
        """
    assert any("trigger itself forever" in p.message for p in problems(tmp_path, selfish))
