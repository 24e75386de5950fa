"""Dry-runs on the local store: the preview is what the engine wrote (read back with pyarrow),
every plan shape gets a readable answer, failures are answers too, outputs sit under the
reserved prefix until the sweep, and nothing touches jobs or metrics."""

from __future__ import annotations

import base64
import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pyarrow.parquet as pq
import pytest

from pravah import metrics
from pravah.dryrun import DryRun, dry_run, scratch
from pravah.dryrun.spec import inline
from pravah.errors import NotFound, TooLarge
from pravah.settings import DryRunSettings
from pravah.storage import LocalStore

SALES = "order_id,region,status,qty,unit_price,day\n" + "".join(
    f"{i},{['north', 'south', 'east'][i % 3]},{'shipped' if i % 4 else 'pending'},{i % 7},{i * 1.25:.2f},2026-01-{i % 28 + 1:02d}\n" for i in range(500))
LOG = "".join(f"{'ERROR' if i % 5 == 0 else 'INFO'} request {i} took {i % 90} ms\n" for i in range(300))
SALES_STEPS: list[Any] = ["read_csv", {"filter": {"where": "status = 'shipped' and qty > 0"}},
                          {"derive": {"column": "revenue", "expr": "qty * unit_price"}},
                          {"cast": {"columns": {"qty": "int16", "day": "date"}}},
                          {"select": {"columns": ["order_id", "region", "qty", "revenue", "day"]}}]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "in" / "team").mkdir(parents=True)
    (tmp_path / "in" / "team" / "sales.csv").write_text(SALES)
    (tmp_path / "in" / "team" / "app.log").write_text(LOG)
    (tmp_path / "in" / "team" / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    return LocalStore(tmp_path)


def run(store: LocalStore, steps: list[Any], key: str = "team/sales.csv", output: str = "out/{stem}.out", cfg: DryRunSettings | None = None,
        **kw: Any) -> DryRun:
    p = inline({"name": "p", "steps": steps, "output": output, **kw.pop("extra", {})})
    return anyio.run(lambda: dry_run(store, p, "in", key, cfg or DryRunSettings(), source="inline", **kw))


def test_parquet_preview_is_what_the_engine_wrote(store: LocalStore) -> None:
    r = run(store, [*SALES_STEPS, "write_parquet"], output="out/sales/{stem}.parquet", rows=7)
    assert r.succeeded and r.kind == "table" and r.error is None
    assert r.output is not None and r.output.key.startswith("_pravah/dry-runs/") and r.output.key.endswith("/sales.parquet")
    written = pq.read_table(store.path("in", r.output.key))
    assert [(c.name, c.type) for c in r.columns] == [("order_id", "int64"), ("region", "string"), ("qty", "int16"), ("revenue", "float64"), ("day", "date")]
    expected = [[row[c] if c != "day" else row[c].isoformat() for c in written.column_names] for row in written.slice(0, 7).to_pylist()]
    assert r.rows == expected
    assert (r.rows_in, r.rows_out, r.rows_filtered, r.rows_rejected) == (500, written.num_rows, 500 - written.num_rows, 0)
    assert not r.complete and len(r.rows) == 7
    assert sorted(p.name for p in store.path("in", r.output.key).parent.iterdir()) == ["sales.parquet"]  # preview files are gone


def test_csv_output_gets_the_schema_the_engine_had_and_its_rows(store: LocalStore) -> None:
    r = run(store, [*SALES_STEPS, "write_csv", "gzip"], output="out/{stem}.csv.gz")
    assert r.succeeded and [c.type for c in r.columns] == ["int64", "string", "int16", "float64", "date"]
    lines = gzip.decompress(store.path("in", r.output.key).read_bytes()).decode().splitlines()
    assert lines[0] == "order_id,region,qty,revenue,day"
    assert [",".join(str(v) for v in row) for row in r.rows] == lines[1:21]


def test_aggregate_counts_groups_not_filtered_rows(store: LocalStore) -> None:
    r = run(store, ["read_csv", {"aggregate": {"by": ["region"], "aggs": [{"fn": "count"}, {"fn": "sum", "column": "qty"}]}}, "write_jsonl"])
    assert r.succeeded and r.rows_out == 3 and r.rows_filtered is None and r.complete
    assert sorted(row[0] for row in r.rows) == ["east", "north", "south"] and [c.name for c in r.columns][:1] == ["region"]


@pytest.mark.parametrize(
    ("steps", "columns", "first", "counts"),
    [
        ([{"grep": {"pattern": "ERROR"}}, "gzip"], [("line", "string")], ["ERROR request 0 took 0 ms"], (300, 60, 240)),
        (["count"], [("bytes", "uint64"), ("lines", "uint64"), ("words", "uint64")], [len(LOG), 300, 1800], (300, 300, None)),
        ([{"word_freq": {"top": 2}}], [("word", "string"), ("count", "uint64")], ["ms", 300], (300, 300, None)),
        (["sha256"], [("sha256", "string"), ("name", "string")], None, (None, None, None)),
        (["decompress"], [("line", "string")], ["ERROR request 0 took 0 ms"], (None, None, None)),
    ],
)
def test_text_and_bytes_plans_show_their_lines(store: LocalStore, steps: list[Any], columns: list[tuple[str, str]], first: list | None,
                                               counts: tuple) -> None:
    r = run(store, steps, key="team/app.log")
    assert r.succeeded and [(c.name, c.type) for c in r.columns] == columns
    if first is not None:
        assert r.rows[0] == first
    assert (r.rows_in, r.rows_out, r.rows_filtered) == counts


def test_compressed_bytes_are_binary(store: LocalStore) -> None:
    r = run(store, [{"zstd": {"level": 3}}], key="team/app.log")
    assert r.succeeded and r.binary and not r.rows and r.output is not None and r.output.size > 0


def test_a_bad_row_is_set_aside_and_counted(store: LocalStore) -> None:
    r = run(store, [{"read_csv": {"schema": {"b": "int64"}}}, "write_parquet"], key="team/bad.csv")
    assert r.succeeded and r.rows_rejected == 1 and r.rows_out == r.rows_in


def test_a_bad_row_is_the_answer_with_its_place(store: LocalStore) -> None:
    r = run(store, [{"read_csv": {"schema": {"b": "int64"}, "on_bad_rows": "fail"}}, "write_parquet"], key="team/bad.csv")
    assert not r.succeeded and r.output is None and r.rows_rejected == 1
    assert r.error is not None and r.error.type == "InputFormatError" and r.error.line == 3 and "oops" in r.error.message
    scratch_dir = store.root / "in" / scratch.PREFIX
    assert not (scratch_dir.exists() and any(scratch_dir.iterdir()))  # a failed run leaves nothing behind


def test_the_pipelines_own_limits_apply(store: LocalStore) -> None:
    r = run(store, ["read_csv", "write_parquet"], extra={"limits": {"max_input_bytes": "1KB"}})
    assert not r.succeeded and r.error is not None and r.error.type == "LimitError" and "limits.max_input_bytes" in r.error.message


def test_timeouts_the_pipelines_and_the_dry_runs(store: LocalStore) -> None:
    (store.root / "in" / "team" / "noise.txt").write_bytes(base64.b64encode(os.urandom(8_000_000)))
    slow = [{"zstd": {"level": 19}}]
    r = run(store, slow, key="team/noise.txt", extra={"limits": {"timeout_seconds": 0.3}})
    assert not r.succeeded and r.error.type == "LimitError" and "limits.timeout_seconds (0.3 s)" in r.error.message
    r = run(store, slow, key="team/noise.txt", cfg=DryRunSettings(timeout_seconds=0.3))
    assert not r.succeeded and r.error.type == "Timeout" and "PRAVAH_DRY_RUN__TIMEOUT_SECONDS" in r.error.message
    assert r.duration_ms < 3000


def test_too_big_a_sample_is_413_naming_the_setting(store: LocalStore) -> None:
    with pytest.raises(TooLarge, match="PRAVAH_DRY_RUN__MAX_INPUT_BYTES"):
        run(store, ["read_csv", "write_parquet"], cfg=DryRunSettings(max_input_bytes=1000))


def test_a_missing_sample_is_not_found(store: LocalStore) -> None:
    with pytest.raises(NotFound):
        run(store, ["read_csv", "write_parquet"], key="team/nope.csv")


def test_preview_rows_are_capped(store: LocalStore) -> None:
    assert len(run(store, ["read_csv", "write_parquet"], rows=1000).rows) == 200
    assert len(run(store, ["read_csv", "write_parquet"]).rows) == 20


def test_outputs_wait_under_the_reserved_prefix_until_the_sweep(store: LocalStore) -> None:
    r = run(store, ["read_csv", "write_parquet"], cfg=DryRunSettings(ttl_seconds=60))
    path = store.path("in", r.output.key)
    assert path.exists() and r.output.expires_at > datetime.now(UTC) + timedelta(seconds=58)
    assert scratch.sweep(store) == 0 and path.exists()
    assert scratch.sweep(store, now=r.output.expires_at) == 1 and not path.exists()
    assert (store.root / "in" / "team" / "sales.csv").exists()


def test_a_configured_scratch_bucket_is_used(store: LocalStore) -> None:
    r = run(store, ["read_csv", "write_parquet"], cfg=DryRunSettings(bucket="scratch"))
    assert r.output.bucket == "scratch" and store.path("scratch", r.output.key).exists()


def test_no_metric_moves(store: LocalStore) -> None:
    def sample() -> dict[str, float]:
        return {f"{m.name}{sorted(s.labels.items())}{s.name}": s.value for m in metrics.REGISTRY.collect() for s in m.samples}

    before = sample()
    run(store, [*SALES_STEPS, "write_parquet"])
    run(store, [{"read_csv": {"schema": {"b": "int64"}}}, "write_parquet"], key="team/bad.csv")
    assert sample() == before


def test_the_answer_serialises(store: LocalStore) -> None:
    r = run(store, [*SALES_STEPS, "write_jsonl"])
    assert json.loads(r.model_dump_json())["rows"] == r.rows
