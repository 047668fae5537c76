"""scikit-learn autolog: params, training metrics and the fitted model on the run."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

import knot


@pytest.fixture
def autologging(knot_home: Path) -> Iterator[None]:
    knot.autolog()
    yield
    knot.autolog(disable=True)


def test_fit_logs_params_metrics_and_model(autologging: None, tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    with knot.start_run("pipe") as run:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(X, y)
    got = knot.get_run(run.run_id)
    assert got.params["logisticregression__C"] == "0.5"
    assert 0.9 < got.metric("training_accuracy_score") <= 1.0
    assert got.metric("training_roc_auc") > 0.95
    assert got.tags["estimator"] == "sklearn.pipeline.Pipeline"
    folder = knot.download_artifact(run.run_id, "model", tmp_path)
    restored = pickle.loads((folder / "model.pkl").read_bytes())
    assert (restored.predict(X) == model.predict(X)).all()
    # the pipeline's inner fits were not logged as runs of their own
    assert len(knot.search_runs()) == 1


def test_fit_without_a_run_starts_and_ends_one(autologging: None) -> None:
    from sklearn.linear_model import LinearRegression

    LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    (run,) = knot.search_runs()
    assert run.status is knot.RunStatus.FINISHED and run.name == "LinearRegression"
    assert run.metric("training_r2_score") == pytest.approx(1.0)


def test_disable_restores_fit(knot_home: Path) -> None:
    from sklearn.linear_model import LinearRegression

    knot.autolog()
    knot.autolog(disable=True)
    LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    assert len(knot.search_runs()) == 0
