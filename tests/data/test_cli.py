"""`knot data ...` through Typer's runner, on SQLite, PostgreSQL and a live server, in an
isolated KNOT_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from knot.cli import app
from knot.errors import Invalid, NotFound
from tests.backends import StoreBackend
from tests.data.conftest import customers

runner = CliRunner()


@pytest.fixture
def csv(
    knot_home: Path,
    store_backend: StoreBackend,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    frame: pd.DataFrame,
) -> Path:
    store_backend.use(monkeypatch)
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    return path


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["data", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_register_list_show_profile_diff_alias(
    csv: Path, tmp_path: Path, frame: pd.DataFrame
) -> None:
    assert "churn@1 accepted: 200 rows, 7 columns" in _ok(
        "register", "churn", str(csv), "--tag", "team=ml"
    )
    assert "churn@1 accepted" in _ok("register", "churn", str(csv))  # same content
    listed = json.loads(_ok("list", "--json"))
    assert [(d["name"], d["versions"], d["latest"]) for d in listed] == [("churn", 1, 1)]
    assert "churn@1" in _ok("show", "churn")
    shown = json.loads(_ok("show", "churn@1", "--json"))
    assert shown["tags"] == {"team": "ml"} and shown["rows"] == 200
    assert "signed_up" in _ok("show", "churn@latest")
    html = tmp_path / "out" / "profile.html"
    assert "age" in _ok("profile", "churn@1", "--html", str(html))
    assert "plotly" in html.read_text()
    frame.assign(spend=frame.spend * 3).to_csv(csv, index=False)
    _ok("register", "churn", str(csv))
    diff = _ok("diff", "churn@1", "churn@2")
    assert "spend" in diff and "mean" in diff
    assert "churn@prod -> churn@1" in _ok("alias", "churn@1", "prod")


def test_validate_exits_non_zero_on_failure(csv: Path, tmp_path: Path) -> None:
    _ok("register", "churn", str(csv))
    rules = tmp_path / "rules.yaml"
    rules.write_text("columns:\n  age: {min: 18, max: 120}\n")
    assert "2/2 rules passed" in _ok("validate", "churn@1", "--rules", str(rules))
    rules.write_text("columns:\n  age: {max: 40}\n  plan: {allowed: [basic]}\n")
    result = runner.invoke(app, ["data", "validate", "churn@1", "--rules", str(rules)])
    assert result.exit_code == 1
    assert "age.range" in result.output and "failed" in result.output
    as_json = runner.invoke(app, ["data", "validate", "churn@1", "-r", str(rules), "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["results"][1]["failing"] > 0


def test_register_with_failing_rules_is_rejected_with_exit_1(csv: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("table:\n  row_count: {min: 1000}\n")
    result = runner.invoke(app, ["data", "register", "churn", str(csv), "--rules", str(rules)])
    assert result.exit_code == 1
    assert "churn@1 rejected" in result.output and "table.row_count" in result.output


def test_errors_name_the_problem(csv: Path, tmp_path: Path) -> None:
    bad_rules = tmp_path / "bad.yaml"
    bad_rules.write_text("columns:\n  age: {nul: true}\n")
    result = runner.invoke(app, ["data", "register", "churn", str(csv), "-r", str(bad_rules)])
    assert isinstance(result.exception, Invalid) and "unknown field 'nul'" in str(result.exception)
    result = runner.invoke(app, ["data", "show", "nothing@1"])
    assert isinstance(result.exception, NotFound)
    result = runner.invoke(app, ["data", "register", "churn", str(csv), "--tag", "oops"])
    assert isinstance(result.exception, Invalid) and "key=value" in str(result.exception)


def test_a_rule_with_mostly_accepts_a_version_the_strict_rule_rejects(
    knot_home: Path, tmp_path: Path
) -> None:
    """Through the installed `knot`: one bad row in 200 rejects a version (exit 1) unless
    the rule says `mostly`, and the rejected version never becomes latest."""
    from tests.cli.knot_process import assert_check_failed, assert_ok, run

    data = customers().assign(age=[200 if i == 7 else 18 + i % 80 for i in range(200)])
    path = tmp_path / "ages.csv"
    data.to_csv(path, index=False)
    strict, loose = tmp_path / "strict.yaml", tmp_path / "loose.yaml"
    strict.write_text("columns:\n  age: {max: 120}\n")
    loose.write_text("columns:\n  age: {max: 120, mostly: 0.995}\n")
    done = run(knot_home, "data", "register", "ages", str(path), "--rules", str(strict))
    assert_check_failed(done, "ages@1")
    assert "age.range" in done.stdout + done.stderr
    done = run(knot_home, "data", "register", "loose", str(path), "--rules", str(loose))
    assert "loose@1" in assert_ok(done)
    shown = json.loads(assert_ok(run(knot_home, "data", "show", "loose@latest", "--json")))
    assert shown["status"] == "accepted"
