"""JSON lines with bad lines: broken JSON, a line that is not an object and a value that does
not fit its column are set aside with their physical line, and the lines around them read as
if they were not there."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pravah import engine


def test_bad_lines_are_quarantined_with_their_place(tmp_path: Path) -> None:
    lines = ['{"id": 1, "name": "a"}', '{"id": 2, "name": ', "", '[3]', '{"id": "four", "name": "d"}', '{"id": 5, "name": null}', '{"id": 6, "name": "f"}', '{"id": 7, "name": "g"}']
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"
    report = engine.run([{"op": "read_jsonl", "schema": {"id": "int64"}}, {"op": "write_parquet"}], str(src), str(out))
    assert pq.read_table(out).to_pylist() == [{"id": 1, "name": "a"}, {"id": 5, "name": None}, {"id": 6, "name": "f"}, {"id": 7, "name": "g"}]
    assert report.rows_rejected == 3 and report.rejects is not None
    got = [json.loads(x) for x in Path(f"{out}.rejects.jsonl").read_text().splitlines()]
    offsets = [sum(len(x) + 1 for x in lines[:i]) for i in (1, 3, 4)]
    assert [(r["line"], r["raw"], r["byte_offset"]) for r in got] == [(2, lines[1], offsets[0]), (4, lines[3], offsets[1]), (5, lines[4], offsets[2])]
    assert "not valid JSON" in got[0]["reason"] and "not a JSON object" in got[1]["reason"]
    assert "four" in got[2]["reason"] or "id" in got[2]["reason"], got[2]["reason"]  # arrow names the misfit


def test_fail_policy_names_the_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"a": 1}\n{"a": \n')
    try:
        engine.run([{"op": "read_jsonl", "on_bad_rows": "fail"}, {"op": "write_parquet"}], str(src), str(tmp_path / "o.parquet"))
    except engine.InputFormatError as e:
        assert e.line == 2 and "not valid JSON" in str(e)
    else:
        raise AssertionError("a broken line with on_bad_rows: fail must fail the run")


def test_halves_decoded_side_by_side_keep_order_and_places(tmp_path: Path) -> None:
    """A chunk of many lines is decoded in two halves at once: rows stay in file order and
    bad lines in either half (and at the seam) keep their line and byte offset."""
    n = 150_000  # past one chunk of 65,536 lines, so two chunks split in halves
    bad = {2, 32_768, 32_769, 32_770, 65_536, 65_537, 99_999, n}
    lines = ['{"id": 1, "x": ' if i in bad else f'{{"id": {i}, "x": "v{i}"}}' for i in range(1, n + 1)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"
    report = engine.run([{"op": "read_jsonl"}, {"op": "write_parquet"}], str(src), str(out))
    ids = pq.read_table(out).column("id").to_pylist()
    assert ids == [i for i in range(1, n + 1) if i not in bad]
    assert report.rows_rejected == len(bad)
    got = [json.loads(x) for x in Path(f"{out}.rejects.jsonl").read_text().splitlines()]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    assert [(r["line"], r["byte_offset"]) for r in got] == [(i, starts[i - 1]) for i in sorted(bad)]
