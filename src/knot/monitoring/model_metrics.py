"""Classifier and regressor metrics in NumPy, matching scikit-learn's definitions
(binary averaging for 0/1 labels, macro averaging otherwise, zero_division=0), so
monitoring does not need scikit-learn installed."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from knot.monitoring.metric_table import metrics_for

__all__ = ["CLASSIFIER_METRICS", "REGRESSOR_METRICS", "classifier_metrics", "regressor_metrics"]

# every metric of the table is computed live, so a canary or an alert can use any of them
CLASSIFIER_METRICS = metrics_for("classification")
REGRESSOR_METRICS = metrics_for("regression")


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _is_binary(values: np.ndarray) -> bool:
    if values.dtype.kind not in "biuf":
        return False
    return bool(np.isin(values, (0, 1)).all())


def classifier_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None = None
) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1, and (with positive-class scores of a binary model)
    ROC AUC and log loss. Scores that are NaN leave those two out."""
    if len(y_true) == 0:
        return dict.fromkeys(CLASSIFIER_METRICS)
    accuracy = float(np.mean(y_true == y_pred))
    out: dict[str, float | None] = {"accuracy": accuracy, "error_rate": 1.0 - accuracy}
    binary = _is_binary(y_true) and _is_binary(y_pred)
    if binary:
        t, p = y_true == 1, y_pred == 1
        tp, fp, fn = float(np.sum(t & p)), float(np.sum(~t & p)), float(np.sum(t & ~p))
        out["precision"] = _ratio(tp, tp + fp)
        out["recall"] = _ratio(tp, tp + fn)
        out["f1"] = _ratio(2 * tp, 2 * tp + fp + fn)
    else:
        out.update(_macro(y_true, y_pred))
    out["roc_auc"], out["log_loss"] = None, None
    if binary and score is not None and not np.isnan(score).any():
        positives = y_true == 1
        out["roc_auc"] = _roc_auc(positives, score)
        out["log_loss"] = _log_loss(positives, score)
    return out


def _macro(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    classes = np.union1d(y_true, y_pred)
    precision, recall, f1 = [], [], []
    for c in classes:
        t, p = y_true == c, y_pred == c
        tp, fp, fn = float(np.sum(t & p)), float(np.sum(~t & p)), float(np.sum(t & ~p))
        precision.append(_ratio(tp, tp + fp))
        recall.append(_ratio(tp, tp + fn))
        f1.append(_ratio(2 * tp, 2 * tp + fp + fn))
    return {
        "precision": float(np.mean(precision)),
        "recall": float(np.mean(recall)),
        "f1": float(np.mean(f1)),
    }


def _roc_auc(positives: np.ndarray, score: np.ndarray) -> float | None:
    n_pos = int(positives.sum())
    n_neg = len(positives) - n_pos
    if n_pos == 0 or n_neg == 0:  # undefined with one class in the window
        return None
    ranks = rankdata(score)  # average ranks for ties, as the Mann-Whitney U statistic needs
    u = float(ranks[positives].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def _log_loss(positives: np.ndarray, score: np.ndarray) -> float:
    eps = np.finfo(np.float64).eps
    p = np.clip(score.astype(np.float64), eps, 1 - eps)
    return float(-np.mean(np.where(positives, np.log(p), np.log1p(-p))))


def regressor_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """MAE, MSE, RMSE and R² (1.0 for a perfect fit of constant labels, 0.0 otherwise, as
    scikit-learn's force_finite does)."""
    if len(y_true) == 0:
        return dict.fromkeys(REGRESSOR_METRICS)
    error = y_true - y_pred
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    perfect = 1.0 if ss_res == 0 else 0.0
    r2 = perfect if ss_tot == 0 else 1.0 - ss_res / ss_tot
    return {
        "mae": float(np.mean(np.abs(error))),
        "mse": ss_res / len(error),
        "rmse": float(np.sqrt(ss_res / len(error))),
        "r2": r2,
    }
