"""Delayed-label performance: predictions joined with labels that arrive late, out of
order and more than once (the latest wins), per window, version and segment; every
metric checked against scikit-learn on the same rows."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

import knot
from knot.errors import Invalid
from knot.metrics import classifier_metrics, regressor_metrics
from knot.monitoring.performance.window_metrics import performance
from knot.serving.logs.labels import append_labels
from tests.monitoring.logs import HOUR, write_predictions

T0 = 1_780_000_000_000 - 1_780_000_000_000 % (24 * HOUR)  # midnight UTC


def _classifier_log(root: Path, seed: int = 0) -> dict[str, dict[str, object]]:
    """300 rows over 3 hours for version 1, 100 rows in hour 2 for version 2; returns
    the truth per request id."""
    rng = np.random.default_rng(seed)
    truth: dict[str, dict[str, object]] = {}
    for version, hours, n in ((1, (0, 1, 2), 100), (2, (2,), 100)):
        for hour in hours:
            ids = [f"v{version}-h{hour}-{i}" for i in range(n)]
            y = rng.integers(0, 2, n)
            score = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)
            pred = (score > 0.5).astype(np.int64)
            plan = rng.choice(["basic", "pro"], n)
            stamps = [T0 + hour * HOUR + int(rng.integers(0, HOUR)) for _ in range(n)]
            write_predictions(
                root,
                "churn",
                version,
                request_ids=ids,
                timestamps=stamps,
                features={"tenure": rng.random(n) * 50, "plan": plan.tolist()},
                predictions=pred,
                scores=score,
            )
            for i, rid in enumerate(ids):
                truth[rid] = {
                    "y": int(y[i]),
                    "pred": int(pred[i]),
                    "score": float(score[i]),
                    "version": version,
                    "hour": hour,
                    "plan": str(plan[i]),
                }
    return truth


def _expected(rows: list[dict[str, object]]) -> dict[str, float]:
    y = np.asarray([r["y"] for r in rows])
    p = np.asarray([r["pred"] for r in rows])
    s = np.asarray([r["score"] for r in rows])
    return {
        "accuracy": skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=0),
        "recall": skm.recall_score(y, p, zero_division=0),
        "f1": skm.f1_score(y, p, zero_division=0),
        "roc_auc": skm.roc_auc_score(y, s),
        "log_loss": skm.log_loss(y, s, labels=[0, 1]),
    }


def _send_labels_shuffled(truth: dict[str, dict[str, object]]) -> None:
    """Every label once wrong, then right, in shuffled batches: the latest must win."""
    items = list(truth.items())
    random.Random(1).shuffle(items)
    wrong = [{"request_id": rid, "label": 1 - int(t["y"])} for rid, t in items]  # type: ignore[call-overload]
    right = [{"request_id": rid, "label": t["y"]} for rid, t in reversed(items)]
    for i in range(0, len(wrong), 97):
        append_labels("churn", wrong[i : i + 97])
    for i in range(0, len(right), 89):
        append_labels("churn", right[i : i + 89])


def test_classifier_metrics_per_window_and_version_match_sklearn(knot_home: Path) -> None:
    truth = _classifier_log(knot_home / "predictions")
    _send_labels_shuffled(truth)
    found = performance("churn", window="1h")
    assert [(m.version, m.window_start - T0) for m in found] == [
        (1, 0),
        (1, HOUR),
        (1, 2 * HOUR),
        (2, 2 * HOUR),
    ]
    for m in found:
        rows = [
            t
            for t in truth.values()
            if t["version"] == m.version and t["hour"] == (m.window_start - T0) // HOUR
        ]
        assert m.rows == m.served_rows == m.labeled == 100
        assert m.task == "classification"
        assert m.window_end - m.window_start == HOUR
        for name, value in _expected(rows).items():
            assert m.metrics[name] == pytest.approx(value, rel=1e-9), name
        assert m.metrics["error_rate"] == pytest.approx(1 - m.metrics["accuracy"])  # type: ignore[operator]


def test_labels_can_arrive_before_their_predictions_are_logged(knot_home: Path) -> None:
    root = knot_home / "predictions"
    append_labels("churn", [{"request_id": "early", "label": 1}, {"request_id": "x", "label": 0}])
    assert performance("churn") == []  # nothing logged yet
    write_predictions(
        root,
        "churn",
        1,
        request_ids=["early", "late"],
        timestamps=[T0 + 10, T0 + 20],
        features={"tenure": [1.0, 2.0]},
        predictions=np.asarray([1, 0], dtype=np.int64),
    )
    (m,) = performance("churn", window="1d")
    assert (m.rows, m.labeled, m.metrics["accuracy"]) == (2, 1, 1.0)
    assert m.metrics["roc_auc"] is None  # no scores logged
    append_labels("churn", [{"request_id": "late", "label": 1}])
    (m,) = performance("churn", window="1d")
    assert (m.labeled, m.metrics["accuracy"], m.metrics["recall"]) == (2, 0.5, 0.5)


def test_pooled_versions_and_segments(knot_home: Path) -> None:
    truth = _classifier_log(knot_home / "predictions", seed=3)
    _send_labels_shuffled(truth)
    pooled = performance("churn", window="1d", by_version=False)
    assert len(pooled) == 1 and pooled[0].version is None and pooled[0].rows == 400
    expected = _expected(list(truth.values()))
    assert pooled[0].metrics["f1"] == pytest.approx(expected["f1"])
    sliced = performance("churn", window="1d", segment="plan")
    assert {(m.version, m.segment_value) for m in sliced} == {
        (1, "basic"),
        (1, "pro"),
        (2, "basic"),
        (2, "pro"),
    }
    for m in sliced:
        rows = [
            t for t in truth.values() if t["version"] == m.version and t["plan"] == m.segment_value
        ]
        assert m.segment == "plan" and m.labeled == len(rows)
        assert m.metrics["roc_auc"] == pytest.approx(_expected(rows)["roc_auc"])


def test_regressor_metrics_match_sklearn(knot_home: Path) -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(10, 3, 500)
    pred = y + rng.normal(0, 1, 500)
    ids = [f"r{i}" for i in range(500)]
    write_predictions(
        knot_home / "predictions",
        "price",
        1,
        request_ids=ids,
        timestamps=[T0 + i * 1000 for i in range(500)],
        features={"size": rng.random(500)},
        predictions=pred,
    )
    append_labels(
        "price", [{"request_id": r, "label": float(v)} for r, v in zip(ids, y, strict=True)]
    )
    (m,) = performance("price", window="1d")
    assert m.task == "regression"
    assert m.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert m.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert m.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_string_labels_macro_average_and_invalid_labels(knot_home: Path) -> None:
    classes = np.asarray(["a", "b", "c"])
    rng = np.random.default_rng(2)
    y = classes[rng.integers(0, 3, 200)]
    pred = np.where(rng.random(200) < 0.7, y, classes[rng.integers(0, 3, 200)])
    ids = [f"s{i}" for i in range(200)]
    write_predictions(
        knot_home / "predictions",
        "kind",
        1,
        request_ids=ids,
        timestamps=[T0 + i for i in range(200)],
        features={"x": rng.random(200)},
        predictions=pred.astype(object),
    )
    append_labels("kind", [{"request_id": r, "label": str(v)} for r, v in zip(ids, y, strict=True)])
    (m,) = performance("kind", window="1h")
    assert m.metrics["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m.metrics["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert m.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    # a numeric model given a label that is not a number: counted, left out, not fatal
    write_predictions(
        knot_home / "predictions",
        "num",
        1,
        request_ids=["n0", "n1"],
        timestamps=[T0, T0 + 1],
        features={"x": [0.0, 1.0]},
        predictions=np.asarray([0, 1], dtype=np.int64),
    )
    append_labels("num", [{"request_id": "n0", "label": "yes"}, {"request_id": "n1", "label": 1}])
    (m,) = performance("num", window="1h")
    assert (m.labeled, m.invalid_labels, m.metrics["accuracy"]) == (1, 1, 1.0)


def test_since_and_until_bound_the_windows(knot_home: Path) -> None:
    truth = _classifier_log(knot_home / "predictions")
    _send_labels_shuffled(truth)
    found = performance("churn", window="1h", since_ms=T0 + HOUR, until_ms=T0 + 2 * HOUR)
    assert [(m.version, m.window_start) for m in found] == [(1, T0 + HOUR)]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"window": "soon"}, "window"),
        ({"window": "0h"}, "window"),
        ({"task": "ranking"}, "task"),
        ({"segment": "nope"}, "segment"),
    ],
)
def test_bad_options_name_the_field(knot_home: Path, options: dict[str, str], field: str) -> None:
    _classifier_log(knot_home / "predictions")
    with pytest.raises(Invalid) as caught:
        performance("churn", **options)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_model_without_a_log_has_no_windows(knot_home: Path) -> None:
    assert performance("ghost") == []


def test_numpy_metrics_agree_with_sklearn_edge_cases() -> None:
    y = np.asarray([1.0, 1.0, 1.0])
    assert classifier_metrics(y, np.asarray([0.0, 0.0, 0.0]))["precision"] == 0.0
    assert classifier_metrics(y, y, np.asarray([0.2, 0.5, 0.9]))["roc_auc"] is None
    ties = np.asarray([0.5, 0.5, 0.2, 0.9])
    labels = np.asarray([1.0, 0.0, 0.0, 1.0])
    assert classifier_metrics(labels, labels, ties)["roc_auc"] == pytest.approx(
        skm.roc_auc_score(labels, ties)
    )
    extreme = np.asarray([0.0, 1.0, 1.0, 0.0])
    assert classifier_metrics(labels, labels, extreme)["log_loss"] == pytest.approx(
        skm.log_loss(labels, extreme)
    )
    constant = np.asarray([2.0, 2.0])
    assert regressor_metrics(constant, constant)["r2"] == skm.r2_score(constant, constant)
    assert regressor_metrics(constant, np.asarray([1.0, 3.0]))["r2"] == skm.r2_score(
        constant, np.asarray([1.0, 3.0])
    )


def test_feedback_sdk_writes_labels(knot_home: Path) -> None:
    write_predictions(
        knot_home / "predictions",
        "churn",
        1,
        request_ids=["q"],
        timestamps=[T0],
        features={"tenure": [3.0]},
        predictions=np.asarray([1], dtype=np.int64),
        rows=[1],
    )
    knot.feedback("churn", "q", 0, row=1)
    knot.feedback("churn", "q", 1, row=1)
    (m,) = performance("churn")
    assert (m.labeled, m.metrics["accuracy"]) == (1, 1.0)
    with pytest.raises(Invalid):
        knot.feedback("churn", "", 1)
