"""`knot monitor drift` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knot.cli import app
from knot.errors import Invalid

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(4)
    n = 5000
    ref = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    cur = pd.DataFrame({"x": rng.normal(1.0, 1.0, n), "y": rng.normal(size=n)})
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def test_json_table_and_html(files: tuple[Path, Path], tmp_path: Path) -> None:
    ref, cur = (str(p) for p in files)
    result = runner.invoke(app, ["monitor", "drift", ref, cur, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["drifted_columns"] == ["x"] and data["columns"][0]["test"] == "wasserstein"
    page = tmp_path / "drift.html"
    result = runner.invoke(
        app,
        [
            "monitor",
            "drift",
            ref,
            cur,
            "--test",
            "y=ks",
            "--threshold",
            "x=0.5",
            "--html",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "drift per column" in result.output and "no dataset drift" not in result.output
    assert page.exists() and "Plotly.newPlot" in page.read_text()
    only = runner.invoke(app, ["monitor", "drift", ref, cur, "-c", "y", "--json"])
    assert json.loads(only.output)["drifted_columns"] == []


def test_fail_on_drift_exits_1(files: tuple[Path, Path]) -> None:
    ref, cur = (str(p) for p in files)
    result = runner.invoke(app, ["monitor", "drift", ref, cur, "--fail-on-drift"])
    assert result.exit_code == 1
    quiet = runner.invoke(app, ["monitor", "drift", ref, ref, "--fail-on-drift"])
    assert quiet.exit_code == 0, quiet.output


def test_bad_options_name_the_fix(files: tuple[Path, Path]) -> None:
    ref, cur = (str(p) for p in files)
    for args, words in (
        (["--test", "x"], "COLUMN=VALUE"),
        (["--threshold", "x=high"], "must be a number"),
        (["--test", "x=magic"], "'magic'"),
        (["-c", "nope"], "'nope'"),
    ):
        result = runner.invoke(app, ["monitor", "drift", ref, cur, *args])
        assert isinstance(result.exception, Invalid), result.output
        assert words in result.exception.message
