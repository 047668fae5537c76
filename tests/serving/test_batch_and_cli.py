"""Batch scoring (`knot predict`), rollback's errors, and the serve command's checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.errors import Conflict, Invalid, NotFound
from knot.serving.batch import score_file
from knot.serving.rollback import previous_version, rollback

runner = CliRunner()


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tenure": [float(i % 25) for i in range(n)],
            "plan": ["basic"] * n,
            "seats": [i % 7 for i in range(n)],
        }
    )


def test_knot_predict_scores_a_parquet_file_in_chunks(churn: Path, tmp_path: Path) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    frame = _frame(2_500)
    frame.to_parquet(source)
    result = runner.invoke(
        app,
        [
            "predict",
            "models:/churn@champion",
            "--input",
            str(source),
            "--output",
            str(target),
            "--chunk-rows",
            "1000",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "scored 2500 rows" in result.output
    scored = pd.read_parquet(target)
    assert list(scored.columns) == ["tenure", "plan", "seats", "prediction"]
    assert scored.prediction.tolist() == [int(t > 10) for t in frame.tenure]
    assert not list(tmp_path.glob(".*tmp"))


def test_batch_scoring_refuses_bad_files_and_writes_nothing(churn: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    with pytest.raises(Invalid, match="does not exist"):
        score_file("models:/churn@champion", tmp_path / "missing.parquet", target)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet")
    with pytest.raises(Invalid, match="is not a Parquet file"):
        score_file("models:/churn@champion", garbage, target)
    wrong = tmp_path / "wrong.parquet"
    _frame(10).drop(columns="seats").to_parquet(wrong)
    with pytest.raises(Invalid, match="'seats' is missing"):
        score_file("models:/churn@champion", wrong, target)
    clash = tmp_path / "clash.parquet"
    _frame(10).assign(prediction=1).to_parquet(clash)
    with pytest.raises(Invalid, match="already has a column 'prediction'"):
        score_file("models:/churn@champion", clash, target)
    with pytest.raises(Invalid, match="scheme is not one of models:"):
        score_file("s3://bucket/model", wrong, target)
    assert not target.exists()
    assert not list(tmp_path.glob(".*tmp"))


def test_rollback_moves_back_one_step_and_names_what_is_wrong(churn: Path) -> None:
    knot.set_alias("churn", "champion", 3)
    assert previous_version("churn") == 1
    assert rollback("churn").version == 1
    assert knot.get_model("churn").aliases["champion"] == 1
    assert rollback("churn", to=2).version == 2
    with pytest.raises(Conflict, match="already points at version 2"):
        rollback("churn", to=2)
    with pytest.raises(NotFound, match="has no alias 'canary'"):
        rollback("churn", alias="canary")
    knot.set_alias("churn", "fresh", 1)
    with pytest.raises(Conflict, match="had no version before"):
        rollback("churn", alias="fresh")


def test_rollback_through_the_cli_reports_the_move(churn: Path) -> None:
    knot.set_alias("churn", "champion", 2)
    result = runner.invoke(app, ["rollback", "churn"])
    assert result.exit_code == 0, result.output
    assert "churn@champion -> version 1" in result.output


def test_serve_checks_its_options_before_starting(churn: Path) -> None:
    result = runner.invoke(app, ["serve", "models:/churn@champion", "--weight", "0.1"])
    assert isinstance(result.exception, Invalid)
    assert "needs a challenger" in str(result.exception)
