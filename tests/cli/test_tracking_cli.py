"""`knot runs ...` and `knot experiments ...` through Typer's runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knot
from knot.cli import app

runner = CliRunner()


@pytest.fixture
def two_runs(knot_home: Path) -> list[str]:
    ids = []
    for i, lr in enumerate([0.1, 0.2]):
        with knot.start_run(f"run{i}", experiment="cli") as run:
            run.log_params({"lr": lr, "model": "lgbm"})
            for step in range(3):
                run.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            run.log_metric("auc", 0.8 + i / 10)
        ids.append(run.run_id)
    knot.reset()
    return ids


def test_runs_list_json_and_filter(two_runs: list[str]) -> None:
    out = runner.invoke(app, ["runs", "list", "-e", "cli", "--json"])
    assert out.exit_code == 0, out.output
    assert {r["run_id"] for r in json.loads(out.output)} == set(two_runs)
    out = runner.invoke(app, ["runs", "list", "-f", "metrics.auc > 0.85", "--json"])
    assert [r["name"] for r in json.loads(out.output)] == ["run1"]
    table = runner.invoke(app, ["runs", "list", "-o", "metrics.auc DESC"])
    assert table.exit_code == 0 and table.output.index("run1") < table.output.index("run0")


def test_runs_show_history_and_compare(two_runs: list[str]) -> None:
    shown = runner.invoke(app, ["runs", "show", two_runs[0]])
    assert shown.exit_code == 0 and "lgbm" in shown.output and "FINISHED" in shown.output
    data = json.loads(runner.invoke(app, ["runs", "show", two_runs[0], "--json"]).output)
    assert data["params"]["lr"] == "0.1"
    history = json.loads(
        runner.invoke(app, ["runs", "history", two_runs[1], "loss", "--json"]).output
    )
    assert [p["step"] for p in history] == [0, 1, 2]
    compared = runner.invoke(app, ["runs", "compare", *two_runs])
    assert compared.exit_code == 0 and "params.lr *" in compared.output
    assert "params.model *" not in compared.output
    cmp_json = json.loads(runner.invoke(app, ["runs", "compare", *two_runs, "--json"]).output)
    assert cmp_json["params"]["lr"] == ["0.1", "0.2"]


def test_experiments_list(two_runs: list[str]) -> None:
    out = runner.invoke(app, ["experiments", "list", "--json"])
    assert [e["name"] for e in json.loads(out.output)] == ["cli"]


def test_errors_are_one_clear_line_and_exit_code_2(knot_home: Path) -> None:
    cmd = [sys.executable, "-c", "from knot.cli import main; main()"]
    done = subprocess.run([*cmd, "runs", "show", "0" * 32], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: run '0000") and "Traceback" not in done.stderr
    bad = subprocess.run(
        [*cmd, "runs", "list", "-f", "metrics.auc >>> 1"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "filter" in bad.stderr and "Traceback" not in bad.stderr


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).output.splitlines()[0] == knot.__version__
    help_text = runner.invoke(app, ["--help"]).output
    assert "runs" in help_text and "server" in help_text


def test_compare_writes_an_html_chart(two_runs: list[str], tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    out = runner.invoke(app, ["runs", "compare", *two_runs, "--html", str(page)])
    assert out.exit_code == 0, out.output
    text = page.read_text()
    assert "plotly" in text.lower() and "run0" in text and 'class="flag"' in text
