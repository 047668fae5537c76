"""Model quality metrics on held-out rows: the definitions of knot.metrics (the one
table and implementation the canary, live performance and alert rules use too), with
the gate's refusals when a metric cannot judge the rows it was given."""

from __future__ import annotations

from typing import Any

from knot.errors import Invalid
from knot.metrics import MetricInfo, metric_info, metric_value

__all__ = ["compute_metric", "metric"]


def metric(name: str, field: str = "metric") -> MetricInfo:
    """The metric called `name`, or Invalid naming the known ones."""
    return metric_info(name, field)


def compute_metric(
    name: str, y_true: Any, y_pred: Any, score: Any = None, *, positive: Any = None
) -> float:
    """`name` over the rows; Invalid when the metric needs scores and there are none,
    when there are no rows, or when the rows leave it undefined (one class for ROC AUC)."""
    m = metric(name)
    if m.needs_score and score is None:
        raise Invalid(
            f"{name} needs the positive-class probability, but the model has no "
            "predict_proba; use accuracy or f1",
            field="metric",
        )
    if not len(y_true):
        raise Invalid(f"{name} over no rows: the held-out data is empty", field="dataset")
    value = metric_value(name, y_true, y_pred, score, positive=positive)
    if value is None:
        raise Invalid(
            f"{name} is undefined on these held-out rows (ROC AUC needs both classes among "
            "the labels, and a binary classifier's scores); use a larger held-out dataset "
            "or another metric",
            field="metric",
        )
    return value
