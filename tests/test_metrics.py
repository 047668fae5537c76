"""knot.metrics, the one definition of each metric, equals scikit-learn on every metric
of the table: binary 0/1 labels, string labels (the greater label positive, or one
chosen), three classes (macro averaging), and degenerate inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from knot.errors import Invalid
from knot.gates.evaluate_metrics import compute_metric
from knot.metrics import (
    CLASSIFIER_METRICS,
    METRIC_TABLE,
    REGRESSOR_METRICS,
    classifier_metrics,
    metric_value,
    regressor_metrics,
)

rng = np.random.default_rng(7)
BIN_Y = rng.integers(0, 2, 200)
BIN_P = np.where(rng.random(200) < 0.8, BIN_Y, 1 - BIN_Y)
BIN_S = np.clip(BIN_Y * 0.4 + rng.random(200) * 0.6, 0.0, 1.0).round(2)  # ties on purpose
WORDS = np.asarray(["No", "Yes"], dtype=object)
TRI_Y = rng.integers(0, 3, 150)
TRI_P = np.where(rng.random(150) < 0.6, TRI_Y, rng.integers(0, 3, 150))


def _sklearn_classifier(y: Any, p: Any, s: Any, positive: Any, multi: bool) -> dict[str, Any]:
    avg: dict[str, Any] = {"average": "macro"} if multi else {"pos_label": positive}
    out = {
        "accuracy": skm.accuracy_score(y, p),
        "error_rate": 1 - skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=0, **avg),
        "recall": skm.recall_score(y, p, zero_division=0, **avg),
        "f1": skm.f1_score(y, p, zero_division=0, **avg),
        "roc_auc": None,
        "log_loss": None,
    }
    if s is not None:
        positives = np.asarray(y) == positive
        out["roc_auc"] = skm.roc_auc_score(positives, s)
        out["log_loss"] = skm.log_loss(positives, s, labels=[False, True])
    return out


CASES = {
    "binary 0/1": (BIN_Y, BIN_P, BIN_S, None, 1, False),
    "binary 0/1, positive 0": (BIN_Y, BIN_P, 1 - BIN_S, 0, 0, False),
    "strings Yes/No": (WORDS[BIN_Y], WORDS[BIN_P], BIN_S, None, "Yes", False),
    "strings, positive No": (WORDS[BIN_Y], WORDS[BIN_P], 1 - BIN_S, "No", "No", False),
    "booleans": (BIN_Y == 1, BIN_P == 1, BIN_S, None, True, False),
    "three classes": (TRI_Y, TRI_P, None, None, None, True),
    "three string classes": (
        np.asarray(["a", "b", "c"], dtype=object)[TRI_Y],
        np.asarray(["a", "b", "c"], dtype=object)[TRI_P],
        None,
        None,
        None,
        True,
    ),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", CLASSIFIER_METRICS)
def test_each_classifier_metric_equals_sklearn(case: str, name: str) -> None:
    y, p, s, positive, sk_positive, multi = CASES[case]
    ours = metric_value(name, y, p, s, positive=positive)
    theirs = _sklearn_classifier(y, p, s, sk_positive, multi)[name]
    if theirs is None:
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


def test_the_issue_s_examples_agree_with_sklearn() -> None:
    # three classes: macro F1, not the one-vs-rest F1 of one class
    y, p = np.asarray([0, 1, 2, 2, 1, 0]), np.asarray([0, 2, 2, 2, 1, 1])
    assert metric_value("f1", y, p) == pytest.approx(skm.f1_score(y, p, average="macro"))
    # Yes/No labels: F1 of "Yes", what sklearn gives for pos_label="Yes"
    yy, pp = np.asarray(["Yes", "No", "Yes", "No"]), np.asarray(["Yes", "Yes", "No", "No"])
    assert metric_value("f1", yy, pp) == pytest.approx(skm.f1_score(yy, pp, pos_label="Yes"))


REG_Y = rng.normal(10, 3, 100)
REG_P = REG_Y + rng.normal(0, 1, 100)
SK_REGRESSION = {
    "mae": skm.mean_absolute_error,
    "mse": skm.mean_squared_error,
    "rmse": lambda y, p: float(np.sqrt(skm.mean_squared_error(y, p))),
    "r2": skm.r2_score,
}
REG_CASES = {
    "noisy": (REG_Y, REG_P),
    "constant labels, exact": (np.full(5, 2.0), np.full(5, 2.0)),
    "constant labels, off": (np.full(5, 2.0), np.asarray([1.0, 2, 3, 2, 2])),
    "whole numbers": (np.asarray([1, 2, 3, 4]), np.asarray([1, 3, 3, 5])),
}


@pytest.mark.parametrize("case", REG_CASES)
@pytest.mark.parametrize("name", REGRESSOR_METRICS)
def test_each_regressor_metric_equals_sklearn(case: str, name: str) -> None:
    y, p = REG_CASES[case]
    assert metric_value(name, y, p) == pytest.approx(SK_REGRESSION[name](y, p), rel=1e-12)


def test_the_table_and_the_implementations_name_the_same_metrics() -> None:
    assert set(CLASSIFIER_METRICS) | set(REGRESSOR_METRICS) == set(METRIC_TABLE)
    assert tuple(classifier_metrics(BIN_Y, BIN_P, BIN_S.astype(float))) == CLASSIFIER_METRICS
    assert tuple(regressor_metrics(REG_Y, REG_P)) == REGRESSOR_METRICS


def test_degenerate_inputs() -> None:
    one_class = np.asarray([1, 1, 1])
    assert metric_value("roc_auc", one_class, one_class, [0.2, 0.5, 0.9]) is None
    assert metric_value("log_loss", BIN_Y, BIN_P, None) is None  # no scores
    assert metric_value("accuracy", [], []) is None
    nan = BIN_S.astype(float).copy()
    nan[0] = np.nan
    assert metric_value("roc_auc", BIN_Y, BIN_P, nan) is None
    # sklearn's zero_division=0: no predicted positives means precision 0
    assert metric_value("precision", [0, 1, 1], [0, 0, 0]) == skm.precision_score(
        [0, 1, 1], [0, 0, 0], zero_division=0
    )


def test_the_gate_refuses_what_the_rows_leave_undefined() -> None:
    with pytest.raises(Invalid, match="roc_auc is undefined") as info:
        compute_metric("roc_auc", [1, 1], [1, 1], [0.3, 0.8])
    assert info.value.field == "metric"
    with pytest.raises(Invalid, match="need numeric labels"):
        metric_value("mae", ["a", "b"], ["a", "b"])
    with pytest.raises(Invalid, match="not a known metric"):
        metric_value("auc", [1], [1])
