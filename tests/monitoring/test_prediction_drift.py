"""Prediction drift in `monitor_run`: a window's logged `prediction` and `score` against
the version's own outputs on its reference, scored once and cached under KNOT_HOME,
stored as drift.prediction / drift.score for alert rules, drawn in the report and put
on the live gauges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry

import knot
import knot.registry.fluent as registry_fluent
from knot.monitoring.alerts.events import alert_events
from knot.monitoring.drift.reference_outputs import cache_path, reference_outputs
from knot.monitoring.live import LiveMonitor
from knot.monitoring.monitor_config import apply_config, load_config
from knot.monitoring.monitor_run import monitor_run
from knot.monitoring.report_html import monitor_report
from knot.monitoring.results import read_results
from knot.serving.config import ServeConfig
from tests.monitoring.logs import HOUR, write_predictions
from tests.monitoring.models import Logistic

NOW = 1_780_000_000_000 - 1_780_000_000_000 % HOUR + HOUR // 2
START = NOW - NOW % HOUR


def _training_frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.normal(20, 5, n)
    return pd.DataFrame(
        {
            "tenure": tenure,
            "plan": rng.choice(["basic", "pro"], n),
            "churned": (tenure > 20).astype(np.int64),  # the label: not a model input
        }
    )


def _train(center: float) -> None:
    with knot.start_run(experiment="churn"):
        knot.load_dataset("churn")
        knot.log_model(
            Logistic(center),
            registered_model_name="churn",
            input_example=_training_frame(2)[["tenure", "plan"]],
        )


@pytest.fixture
def churn(knot_home: Path) -> Path:
    """`churn` version 1, a binary classifier trained on dataset churn@1."""
    knot.register_dataset("churn", _training_frame())
    _train(20.0)
    return knot_home


def _serve(
    home: Path,
    *,
    shift: float,
    n: int = 500,
    start: int = START,
    version: int = 1,
    center: float = 20.0,
) -> None:
    """`n` requests in the window from `start`, logged as the version answered them."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {"tenure": rng.normal(20 + shift, 5, n), "plan": rng.choice(["basic", "pro"], n)}
    )
    model = Logistic(center)
    write_predictions(
        home / "predictions",
        "churn",
        version,
        request_ids=[f"v{version}-{start}-{i}" for i in range(n)],
        timestamps=[start + i for i in range(n)],
        features={"tenure": frame.tenure.to_numpy(), "plan": frame.plan.tolist()},
        predictions=model.predict(frame),
        scores=model.predict_proba(frame)[:, 1],
    )


def _rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "model: churn\n"
        "rules:\n"
        "  - {name: scores-moved, metric: drift.score, op: '>', threshold: 0.2}\n"
    )
    apply_config(load_config(path))


class _LoadSpy:
    """Counts the registry loads monitoring makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        real = registry_fluent.load_model

        def load(uri: str) -> Any:
            self.calls.append(uri)
            return real(uri)

        monkeypatch.setattr(registry_fluent, "load_model", load)


def test_shifted_inputs_drift_the_predictions_and_fire_on_the_score(
    churn: Path, tmp_path: Path
) -> None:
    _rules(tmp_path)
    _serve(churn, shift=8.0)
    result = monitor_run("churn", now_ms=NOW)
    (found,) = result.drift
    prediction, score = found.report.prediction, found.score
    assert prediction is not None and prediction.kind == "categorical" and prediction.drifted
    assert score is not None and score.kind == "numeric" and score.drifted
    assert score.reference_count == 2000 and score.current_count == 500
    # the outputs do not count towards the share of drifted features
    assert found.report.drifted_columns == ["tenure"] and found.report.share_drifted == 0.5
    assert [e.rule for e in result.events] == ["scores-moved"]
    (event,) = alert_events("churn", state="fired")
    assert event.metric == "drift.score" and event.value is not None and event.value > 0.2
    (stored,) = read_results("churn", metric="drift.prediction")
    assert stored.detail is not None and stored.detail["kind"] == "categorical"
    assert stored.detail["drifted"] is True
    (share,) = read_results("churn", metric="drift.share")
    assert share.value == 0.5 and share.detail == {"drifted": ["tenure"]}


def test_unshifted_traffic_stays_quiet(churn: Path, tmp_path: Path) -> None:
    _rules(tmp_path)
    _serve(churn, shift=0.0, n=2000)  # as many rows as the reference: sampling noise is small
    result = monitor_run("churn", now_ms=NOW)
    (found,) = result.drift
    assert found.report.prediction is not None and not found.report.prediction.drifted
    assert found.score is not None and not found.score.drifted
    assert result.events == [] and result.notes == []
    (score,) = read_results("churn", metric="drift.score")
    assert score.value is not None and score.value < 0.2


def test_reference_outputs_are_the_models_own_and_cached(
    churn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _LoadSpy(monkeypatch)
    _serve(churn, shift=8.0)
    first = monitor_run("churn", now_ms=NOW)
    assert spy.calls == ["models:/churn/1"]
    digest = knot.get_model_version("churn", 1).artifact_digest
    dataset = knot.get_dataset("churn@1").digest
    path = cache_path(digest, "dataset:churn@1", dataset)
    assert path.is_relative_to(churn / "monitoring")
    cached = pq.read_table(path)
    frame = _training_frame()
    assert cached.column("prediction").to_pylist() == Logistic().predict(frame).tolist()
    np.testing.assert_allclose(
        cached.column("score").to_numpy(), Logistic().predict_proba(frame)[:, 1]
    )
    written = path.stat().st_mtime_ns
    second = monitor_run("churn", now_ms=NOW)  # a watch loop's next pass
    assert spy.calls == ["models:/churn/1"]  # the model was not loaded again
    assert path.stat().st_mtime_ns == written
    assert second.drift[0].score == first.drift[0].score


def test_a_damaged_cache_file_is_scored_again(churn: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = knot.load_dataset("churn@1", format="arrow")
    first = reference_outputs("churn", 1, "dataset:churn@1", reference)
    digest = knot.get_model_version("churn", 1).artifact_digest
    path = cache_path(digest, "dataset:churn@1", knot.get_dataset("churn@1").digest)
    path.write_bytes(b"not parquet")
    spy = _LoadSpy(monkeypatch)
    again = reference_outputs("churn", 1, "dataset:churn@1", reference)
    assert spy.calls == ["models:/churn/1"] and again.equals(first)
    assert pq.read_table(path).num_rows == 2000


def test_a_large_reference_is_scored_in_batches(
    knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    from knot.monitoring.drift import reference_outputs as outputs

    knot.register_dataset("churn", _training_frame(10))
    _train(20.0)
    monkeypatch.setattr(outputs, "BATCH", 1000)  # 2,500 rows: three batches, with a bar
    frame = _training_frame(2500, seed=3)
    found = reference_outputs("churn", 1, "frame:big", pa.Table.from_pandas(frame))
    assert found.column("prediction").to_pylist() == Logistic().predict(frame).tolist()
    np.testing.assert_allclose(
        found.column("score").to_numpy(), Logistic().predict_proba(frame)[:, 1]
    )


def test_a_model_without_scores_gets_prediction_drift_only(knot_home: Path) -> None:
    from tests.serving.models import Threshold

    knot.register_dataset("churn", _training_frame())
    with knot.start_run(experiment="churn"):
        knot.load_dataset("churn")
        knot.log_model(
            Threshold(20.0),
            registered_model_name="churn",
            input_example=_training_frame(2)[["tenure", "plan"]],
        )
    rng = np.random.default_rng(5)
    tenure = rng.normal(28, 5, 500)
    write_predictions(
        knot_home / "predictions",
        "churn",
        1,
        request_ids=[f"t{i}" for i in range(500)],
        timestamps=[START + i for i in range(500)],
        features={"tenure": tenure, "plan": rng.choice(["basic", "pro"], 500).tolist()},
        predictions=(tenure > 20).astype(np.int64),
    )
    (found,) = monitor_run("churn", now_ms=NOW).drift
    assert found.report.prediction is not None and found.report.prediction.drifted
    assert found.score is None and read_results("churn", metric="drift.score") == []
    cached = pq.read_table(next((knot_home / "monitoring").rglob("*.parquet")))
    assert cached.column("score").null_count == 2000


def test_a_model_that_cannot_be_loaded_is_noted_and_the_pass_goes_on(churn: Path) -> None:
    from knot.tracking.fluent import session

    _train(21.0)  # version 2, another model folder
    lost = knot.get_model_version("churn", 1).artifact_digest
    session().artifacts.backend.delete(lost)  # version 1's folder is gone from the store
    _serve(churn, shift=8.0, version=1)
    _serve(churn, shift=8.0, version=2, center=21.0)
    result = monitor_run("churn", now_ms=NOW)
    assert len(result.notes) == 1 and result.notes[0].startswith(
        "no prediction drift for churn version 1:"
    )
    assert lost in result.notes[0]
    by_version = {d.version: d for d in result.drift}
    assert by_version[1].report.prediction is None and by_version[1].score is None
    assert by_version[1].report.drifted_columns == ["tenure"]  # feature drift still ran
    assert by_version[2].score is not None and by_version[2].score.drifted
    assert {p.version for p in read_results("churn", metric="drift.score")} == {2}
    assert {m.version for m in result.performance} == {1, 2}


def test_report_and_live_gauges_show_prediction_drift(churn: Path, tmp_path: Path) -> None:
    _serve(churn, shift=8.0)
    monitor_run("churn", now_ms=NOW)
    page = monitor_report("churn", tmp_path / "report.html").read_text()
    assert "prediction: drifted" in page and "score: drifted" in page
    assert "drift.score" in page and "drift.prediction" in page
    registry = CollectorRegistry()
    live = LiveMonitor(ServeConfig(model="models:/churn@champion"), registry, refresh_seconds=3600)
    try:
        live.refresh()
    finally:
        live.close()
    for feature in ("prediction", "score"):
        (stored,) = read_results("churn", metric=f"drift.{feature}")
        assert stored.detail is not None
        labels = {"model": "churn", "feature": feature, "test": stored.detail["test"]}
        assert registry.get_sample_value("knot_drift_score", labels) == stored.value
