"""The one definition of each model quality metric: a table saying the task each one
measures, which direction is better and whether it needs the positive-class score, and
one NumPy implementation of each, equal to scikit-learn's (tests/test_metrics.py
compares them). Gates, the retrain loop's canary, live performance and alert rules all
use it, so the gate and the dashboard agree about one model.

Averaging, for precision, recall and F1 (scikit-learn's `zero_division=0` throughout):
- two classes or fewer (in the labels and predictions together): scikit-learn's default
  `average="binary"` for the positive label: `positive` when given, else 1 when the
  labels are 0/1 (scikit-learn's default `pos_label=1`), else the greater label (the
  class whose probability is `predict_proba(...)[:, 1]`, the score);
- more than two classes: `average="macro"`, the unweighted mean over every class that
  appears (scikit-learn refuses "binary" there; macro weighs each class alike).
ROC AUC and log loss need the positive-class score, so only two classes have them; with
one class among the labels ROC AUC is undefined (None). R² follows scikit-learn's
`force_finite=True`: constant labels score 1.0 when predicted exactly, 0.0 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from knot.errors import Invalid

__all__ = [
    "CLASSIFIER_METRICS",
    "METRIC_TABLE",
    "REGRESSOR_METRICS",
    "TASKS",
    "MetricInfo",
    "Task",
    "check_metric_task",
    "classifier_metrics",
    "metric_info",
    "metric_value",
    "metrics_for",
    "regressor_metrics",
    "task_noun",
]

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")


@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: Task
    higher_is_better: bool
    needs_score: bool = False  # the positive-class probability of a binary classifier
    unit: str = "fraction"  # "fraction" (0-1), "label" (the label's units), "label²", "nats"

    def format(self, value: float | None) -> str:
        """`value` as a person reads it: a fraction to four places, an error in the
        label's units with its unit named."""
        if value is None:
            return "n/a"
        if self.unit == "fraction":
            return f"{value:.4f}"
        return f"{value:,.4g} ({'label units' if self.unit == 'label' else self.unit})"

    def better_by(self, challenger: float, champion: float) -> float:
        """How much better `challenger` is than `champion` (negative when worse)."""
        delta = challenger - champion
        return delta if self.higher_is_better else -delta


METRIC_TABLE: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("accuracy", "classification", True),
        MetricInfo("error_rate", "classification", False),
        MetricInfo("precision", "classification", True),
        MetricInfo("recall", "classification", True),
        MetricInfo("f1", "classification", True),
        MetricInfo("roc_auc", "classification", True, needs_score=True),
        MetricInfo("log_loss", "classification", False, needs_score=True, unit="nats"),
        MetricInfo("mae", "regression", False, unit="label"),
        MetricInfo("mse", "regression", False, unit="label units²"),
        MetricInfo("rmse", "regression", False, unit="label"),
        MetricInfo("r2", "regression", True),
    )
}


def metrics_for(task: Task) -> tuple[str, ...]:
    """The metrics that measure models of `task`, in table order."""
    return tuple(m.name for m in METRIC_TABLE.values() if m.task == task)


CLASSIFIER_METRICS = metrics_for("classification")
REGRESSOR_METRICS = metrics_for("regression")


def metric_info(name: str, field: str = "metric") -> MetricInfo:
    """The metric called `name`, or Invalid naming the known ones."""
    found = METRIC_TABLE.get(name)
    if found is None:
        known = ", ".join(sorted(METRIC_TABLE))
        raise Invalid(f"{field} {name!r} is not a known metric; use one of: {known}", field=field)
    return found


def task_noun(task: Task) -> str:
    return "a classifier" if task == "classification" else "a regressor"


def check_metric_task(
    name: str, task: Task | None, *, where: str, model: str, also: str = ""
) -> None:
    """Invalid when metric `name` does not measure models of `task`, naming the rule
    (`where`), the metric, the model and its task, and the metrics that do apply
    (`also`: other names the rule could use, e.g. counts). An unknown task, or a name
    outside the table (a count, a drift metric), is not refused here."""
    info = METRIC_TABLE.get(name)
    if info is None or task is None or info.task == task:
        return
    fits = ", ".join(metrics_for(task)) + (f", {also}" if also else "")
    raise Invalid(
        f"{where}: metric {name!r} measures {info.task}, but {model} is {task_noun(task)} "
        f"({task}); use one of: {fits}",
        field=where,
    )


def metric_value(
    name: str, y_true: Any, y_pred: Any, score: Any = None, *, positive: Any = None
) -> float | None:
    """Metric `name` over the rows; None when it is undefined there (no rows, no scores
    for a metric that needs them, one class for ROC AUC)."""
    info = metric_info(name)
    if info.task == "regression":
        return regressor_metrics(_numeric(y_true), _numeric(y_pred))[name]
    s = None if score is None else np.asarray(score, dtype=np.float64)
    return classifier_metrics(np.asarray(y_true), np.asarray(y_pred), s, positive=positive)[name]


def classifier_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    score: np.ndarray | None = None,
    *,
    positive: Any = None,
) -> dict[str, float | None]:
    """Every classification metric of the table. `score` is the positive class's
    probability; scores with a NaN leave ROC AUC and log loss out (None)."""
    if len(y_true) == 0:
        return dict.fromkeys(CLASSIFIER_METRICS)
    accuracy = float(np.mean(y_true == y_pred))
    out: dict[str, float | None] = {"accuracy": accuracy, "error_rate": 1.0 - accuracy}
    classes = np.unique(np.concatenate([y_true, y_pred]))
    if len(classes) > 2:
        out.update(_macro(y_true, y_pred, classes))
        out["roc_auc"], out["log_loss"] = None, None
        return out
    pos = _positive(classes, positive)
    out.update(_counts_metrics(y_true == pos, y_pred == pos))
    out["roc_auc"], out["log_loss"] = None, None
    if score is not None and len(score) == len(y_true) and not np.isnan(score).any():
        positives = y_true == pos
        out["roc_auc"] = _roc_auc(positives, score)
        out["log_loss"] = _log_loss(positives, score)
    return out


def _positive(classes: np.ndarray, positive: Any) -> Any:
    if positive is not None:
        return positive
    if classes.dtype.kind in "biuf" and np.isin(classes, (0, 1)).all():
        return 1
    return classes[-1]


def _counts_metrics(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    tp, fp, fn = float(np.sum(t & p)), float(np.sum(~t & p)), float(np.sum(t & ~p))
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
    }


def _macro(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    each = [_counts_metrics(y_true == c, y_pred == c) for c in classes]
    return {k: float(np.mean([m[k] for m in each])) for k in ("precision", "recall", "f1")}


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (what Mann-Whitney's U needs)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def _roc_auc(positives: np.ndarray, score: np.ndarray) -> float | None:
    n_pos = int(positives.sum())
    n_neg = len(positives) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    u = float(_average_ranks(score)[positives].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def _log_loss(positives: np.ndarray, score: np.ndarray) -> float:
    # clipped by float64's epsilon, as scikit-learn clips a float64 probability
    eps = np.finfo(np.float64).eps
    p = np.clip(score.astype(np.float64), eps, 1 - eps)
    return float(-np.mean(np.where(positives, np.log(p), np.log1p(-p))))


def _numeric(values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise Invalid(
            "regression metrics (mae, mse, rmse, r2) need numeric labels and predictions; "
            "use accuracy or f1 for a classifier",
            field="metric",
        ) from None


def regressor_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """Every regression metric of the table: MAE, MSE, RMSE and R²."""
    if len(y_true) == 0:
        return dict.fromkeys(REGRESSOR_METRICS)
    error = y_true - y_pred
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    perfect = 1.0 if ss_res == 0 else 0.0
    return {
        "mae": float(np.mean(np.abs(error))),
        "mse": ss_res / len(error),
        "rmse": float(np.sqrt(ss_res / len(error))),
        "r2": perfect if ss_tot == 0 else 1.0 - ss_res / ss_tot,
    }
