"""`knot pipeline run/show` through Typer's runner, and migration 0008 building exactly
the tables knot.pipelines.tables declares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.pipelines import tables
from tests.migrations import assert_migration_builds

runner = CliRunner()


@knot.step
def greet(name: str, times: int) -> str:
    return " ".join([f"hello {name}"] * times)


@knot.step
def shout(text: str) -> str:
    return text.upper()


@knot.pipeline
def greeting(name: str = "world", times: int = 1) -> Any:
    return shout(greet(name, times))


TARGET = "tests.pipelines.test_cli:greeting"


def test_run_prints_per_step_whether_it_ran_or_was_cached(knot_home: Path) -> None:
    first = runner.invoke(app, ["pipeline", "run", TARGET, "-p", "name=007", "-p", "times=2"])
    assert first.exit_code == 0, first.output
    assert "2 ran, 0 cached" in first.output
    assert '"HELLO 007 HELLO 007"' in first.output  # str-annotated: 007 stays text
    second = runner.invoke(app, ["pipeline", "run", TARGET, "-p", "name=007", "-p", "times=2"])
    assert "0 ran, 2 cached" in second.output
    forced = runner.invoke(
        app, ["pipeline", "run", TARGET, "-p", "name=007", "-p", "times=2", "--no-cache", "--json"]
    )
    data = json.loads(forced.output)
    assert data["output"] == "HELLO 007 HELLO 007"
    assert [s["status"] for s in data["steps"]] == ["ran", "ran"]


def test_show_lists_the_steps_of_an_execution(knot_home: Path, tmp_path: Path) -> None:
    result = greeting()
    page = tmp_path / "steps.html"
    shown = runner.invoke(app, ["pipeline", "show", result.run_id, "--json", "--html", str(page)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["pipeline"] == "greeting" and data["status"] == "finished"
    assert [(s["name"], s["status"]) for s in data["steps"]] == [("greet", "ran"), ("shout", "ran")]
    assert data["steps"][1]["upstream"] == ["greet"]
    assert data["steps"][0]["started_at"] <= data["steps"][1]["started_at"]
    text = page.read_text()
    assert "plotly" in text.lower() and "reads: greet" in text
    table = runner.invoke(app, ["pipeline", "show", result.run_id])
    assert "greet" in table.output and "shout" in table.output
    missing = runner.invoke(app, ["pipeline", "show", "0" * 32])
    assert "no pipeline execution has run id" in str(missing.exception)


def test_a_file_path_target_runs(knot_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "flow_in_a_file.py"
    script.write_text(
        "import knot\n\n@knot.step\ndef one() -> int:\n    return 1\n\n"
        "@knot.pipeline\ndef flow():\n    return one()\n"
    )
    result = runner.invoke(app, ["pipeline", "run", f"{script}:flow", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["output"] == 1


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    assert_migration_builds(tables, tmp_path)
