"""`pravah dry-run --local` in embedded mode's folders: the example pipelines, an unsaved spec
file (mistakes with file:line), JSON output, and the exit code of a pipeline that would fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pravah.cli import app

ROOT = Path(__file__).resolve().parents[2]
CSV = "order_id,ts,customer_id,region,product,status,qty,unit_price,discount\n" + "".join(
    f"{i},2026-01-01T00:00:0{i % 10}Z,{i},EU,P{i},{'shipped' if i % 2 else 'pending'},{i % 4},{i}.5,0.1\n" for i in range(40))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRAVAH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PRAVAH_DATABASE_URL", raising=False)
    (tmp_path / "home" / "data" / "inbox" / "sales").mkdir(parents=True)
    (tmp_path / "home" / "data" / "inbox" / "sales" / "s.csv").write_text(CSV)
    return tmp_path / "home"


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["dry-run", *args, "--local", "-p", str(ROOT / "pipelines")], env={"COLUMNS": "200"})
    return r.exit_code, r.output


def test_an_applied_pipeline_prints_schema_counts_and_rows(home: Path) -> None:
    code, text = cli("sales-parquet", "inbox/sales/s.csv", "--rows", "3")
    assert code == 0, text
    assert "rows in 40 · out 20 · filtered 20 · rejected 0" in text
    assert "schema: order_id int64, ts timestamptz, customer_id int64, region string, product string, qty int64, revenue float64" in text
    assert "3 of 20 row(s) shown; there are more" in text and "P1 " in text
    assert list((home / "data" / "inbox" / "_pravah" / "dry-runs").glob("*/s.parquet"))


def test_json_is_the_api_answer(home: Path) -> None:
    code, text = cli("sales-by-region", "inbox/sales/s.csv", "--json")
    got = json.loads(text)
    assert code == 0 and got["rows"] == [["EU", 40, 60, 20.0, 39.5]] and got["complete"]


def test_an_unsaved_spec_file_and_its_mistakes(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "draft.yaml"
    f.write_text("pipelines:\n  - name: draft\n    steps:\n      - read_csv\n      - filter: {where: 'qty >'}\n      - write_csv\n    output: out/x.csv\n")
    code, text = cli("draft", "inbox/sales/s.csv", "--spec", str(f))
    assert code == 1 and f"{f}:5: pipelines[0].steps[1].filter.where" in text, text
    f.write_text("name: draft\nsteps: [read_csv, {filter: {where: 'qty > 2'}}, {select: {columns: [order_id, qty]}}, write_csv]\noutput: out/x.csv\n")
    code, text = cli("draft", "inbox/sales/s.csv", "--spec", str(f), "--json")
    assert code == 0 and json.loads(text)["source"] == "inline" and json.loads(text)["rows"][0] == [3, 3]


def test_a_pipeline_that_would_fail_exits_1_and_says_where(home: Path, tmp_path: Path) -> None:
    (home / "data" / "inbox" / "sales" / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    f = tmp_path / "typed.yaml"
    f.write_text("name: typed\nsteps: [{read_csv: {schema: {b: int64}, on_bad_rows: fail}}, write_parquet]\noutput: out/x.parquet\n")
    code, text = cli("typed", "inbox/sales/bad.csv", "--spec", str(f))
    assert code == 1 and "would fail: InputFormatError" in text and "line 3, column 2" in text
