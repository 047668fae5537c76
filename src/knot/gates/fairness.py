"""Fairness gaps: how far a rate differs between the groups of a sensitive column.

Both follow fairlearn's definitions (the tests check them against fairlearn):
- demographic parity difference: the largest minus the smallest selection rate
  P(prediction = positive | group) over the groups;
- equal opportunity difference: the same gap in true-positive rate
  P(prediction = positive | label = positive, group). A group with no positive label has
  no true-positive rate and is left out of that gap (and listed with rows=0 positives).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from knot.errors import Invalid

__all__ = [
    "FAIRNESS_METRICS",
    "FairnessResult",
    "GroupRate",
    "demographic_parity_difference",
    "equal_opportunity_difference",
    "fairness_gap",
]


class GroupRate(BaseModel):
    model_config = ConfigDict(frozen=True)

    group: str
    rows: int  # the rows the rate is over (all of the group, or its positive labels)
    rate: float | None  # None when the group has no rows to take the rate over


class FairnessResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    gap: float
    groups: list[GroupRate]

    @property
    def worst(self) -> tuple[str, str] | None:
        """(group with the highest rate, group with the lowest), or None with fewer than two."""
        rated = [g for g in self.groups if g.rate is not None]
        if len(rated) < 2:
            return None
        high = max(rated, key=lambda g: g.rate or 0.0)
        low = min(rated, key=lambda g: g.rate or 0.0)
        return high.group, low.group


def _arrays(*values: Any) -> list[np.ndarray]:
    arrays = [np.asarray(v) for v in values]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise Invalid(
            f"predictions, labels and groups must have one value per row; got lengths "
            f"{sorted(lengths)}",
            field="groups",
        )
    return arrays


def _gap(metric: str, rates: list[GroupRate]) -> FairnessResult:
    known = [g.rate for g in rates if g.rate is not None]
    gap = float(max(known) - min(known)) if known else 0.0
    return FairnessResult(metric=metric, gap=gap, groups=rates)


def _rates(selected: np.ndarray, groups: np.ndarray, within: np.ndarray) -> list[GroupRate]:
    rates = []
    for group in sorted(set(groups.tolist()), key=str):
        rows = (groups == group) & within
        n = int(rows.sum())
        rate = float(selected[rows].mean()) if n else None
        rates.append(GroupRate(group=str(group), rows=n, rate=rate))
    return rates


def demographic_parity_difference(
    y_pred: Any, groups: Any, *, positive: Any = 1, y_true: Any = None
) -> FairnessResult:
    """Largest minus smallest selection rate across groups (`y_true` is not used)."""
    pred, grp = _arrays(y_pred, groups)
    selected = pred == positive
    return _gap("demographic_parity_difference", _rates(selected, grp, np.ones(len(grp), bool)))


def equal_opportunity_difference(
    y_pred: Any, groups: Any, *, y_true: Any, positive: Any = 1
) -> FairnessResult:
    """Largest minus smallest true-positive rate across groups."""
    pred, grp, true = _arrays(y_pred, groups, y_true)
    return _gap("equal_opportunity_difference", _rates(pred == positive, grp, true == positive))


FAIRNESS_METRICS: dict[str, Callable[..., FairnessResult]] = {
    "demographic_parity_difference": demographic_parity_difference,
    "equal_opportunity_difference": equal_opportunity_difference,
}


def fairness_gap(
    metric: str, y_pred: Any, groups: Any, *, y_true: Any = None, positive: Any = 1
) -> FairnessResult:
    """The gap `metric` names (one of FAIRNESS_METRICS)."""
    fn = FAIRNESS_METRICS.get(metric)
    if fn is None:
        known = ", ".join(sorted(FAIRNESS_METRICS))
        raise Invalid(
            f"fairness metric {metric!r} is not known; use one of: {known}", field="metric"
        )
    if metric == "equal_opportunity_difference" and y_true is None:
        raise Invalid("equal_opportunity_difference needs the true labels", field="label")
    return fn(y_pred, groups, y_true=y_true, positive=positive)
