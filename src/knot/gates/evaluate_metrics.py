"""Model quality metrics on held-out rows, computed with NumPy (no scikit-learn needed).

What each metric measures (its task), which direction is better and whether it needs
scores come from the one table in knot.monitoring.metric_table, so a margin or a guard
reads the same way for accuracy (higher) and log loss (lower), and the same way as the
live metrics of monitoring and the canary. This module adds how to compute each one on
held-out rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from knot.errors import Invalid
from knot.monitoring.metric_table import METRIC_TABLE, MetricInfo, metric_info

__all__ = ["METRICS", "Metric", "compute_metric", "metric"]

_Fn = Callable[[np.ndarray, np.ndarray, np.ndarray | None, Any], float]


@dataclass(frozen=True)
class Metric:
    info: MetricInfo
    fn: _Fn

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def higher_is_better(self) -> bool:
        return self.info.higher_is_better

    @property
    def needs_score(self) -> bool:
        return self.info.needs_score

    def better_by(self, challenger: float, champion: float) -> float:
        """How much better `challenger` is than `champion` (negative when worse)."""
        return self.info.better_by(challenger, champion)


def _hits(y: np.ndarray, p: np.ndarray, pos: Any) -> tuple[int, int, int]:
    tp = int(((p == pos) & (y == pos)).sum())
    fp = int(((p == pos) & (y != pos)).sum())
    fn = int(((p != pos) & (y == pos)).sum())
    return tp, fp, fn


def _precision(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    tp, fp, _ = _hits(y, p, pos)
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    tp, _, fn = _hits(y, p, pos)
    return tp / (tp + fn) if tp + fn else 0.0


def _f1(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    tp, fp, fn = _hits(y, p, pos)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _roc_auc(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    assert s is not None
    positive = y == pos
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        raise Invalid(
            "roc_auc needs both classes among the held-out labels; use a larger held-out "
            "dataset or another metric",
            field="metric",
        )
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _log_loss(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    assert s is not None
    q = np.clip(s, 1e-15, 1 - 1e-15)
    positive = y == pos
    return float(-np.mean(np.where(positive, np.log(q), np.log(1 - q))))


def _numeric(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        return y.astype(float), p.astype(float)
    except (TypeError, ValueError):
        raise Invalid(
            "regression metrics (mse, rmse, mae, r2) need numeric labels and predictions; "
            "use accuracy or f1 for a classifier",
            field="metric",
        ) from None


def _mse(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    a, b = _numeric(y, p)
    return float(np.mean((a - b) ** 2))


def _r2(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, pos: Any) -> float:
    a, b = _numeric(y, p)
    total = float(np.sum((a - a.mean()) ** 2))
    return 1.0 - float(np.sum((a - b) ** 2)) / total if total else 0.0


_FUNCTIONS: dict[str, _Fn] = {
    "accuracy": lambda y, p, s, pos: float(np.mean(y == p)),
    "error_rate": lambda y, p, s, pos: float(np.mean(y != p)),
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "mse": _mse,
    "rmse": lambda y, p, s, pos: float(np.sqrt(_mse(y, p, s, pos))),
    "mae": lambda y, p, s, pos: float(np.mean(np.abs(np.subtract(*_numeric(y, p))))),
    "r2": _r2,
}

# one entry per row of the table: a metric added there without a function here fails
# at import, not in a user's evaluation
METRICS: dict[str, Metric] = {
    name: Metric(info, _FUNCTIONS[name]) for name, info in METRIC_TABLE.items()
}


def metric(name: str, field: str = "metric") -> Metric:
    """The metric called `name`, or Invalid naming the known ones."""
    return METRICS[metric_info(name, field).name]


def compute_metric(
    name: str, y_true: Any, y_pred: Any, score: Any = None, *, positive: Any = 1
) -> float:
    """`name` over the rows; Invalid when the metric needs scores and there are none."""
    m = metric(name)
    y, p = np.asarray(y_true), np.asarray(y_pred)
    s = None if score is None else np.asarray(score, dtype=float)
    if m.needs_score and s is None:
        raise Invalid(
            f"{name} needs the positive-class probability, but the model has no "
            "predict_proba; use accuracy or f1",
            field="metric",
        )
    if not len(y):
        raise Invalid(f"{name} over no rows: the held-out data is empty", field="dataset")
    return m.fn(y, p, s, positive)
