"""The fairness gate of `knot check`: a model version's predictions on a dataset, and the
gap of a rate across the groups of a sensitive column, which may not exceed max_gap."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from knot.errors import Invalid
from knot.gates.evaluate_data import (
    check_labels,
    labels_of,
    model_uri,
    read_frame,
    score_model,
)
from knot.gates.fairness import FAIRNESS_METRICS, fairness_gap
from knot.gates.report import GateResult
from knot.registry.fluent import get_model_version, load_model
from knot.registry.task import task_of

__all__ = ["FairnessGate", "run_fairness_gate"]


class FairnessGate(BaseModel):
    """`metric` of `model`@`candidate` across groups of `column` on `dataset` <= `max_gap`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None  # default: the config's top-level model
    candidate: str | int = "challenger"  # an alias or a version number
    dataset: str
    column: str
    label: str | None = None  # needed by equal_opportunity_difference
    metric: str = "demographic_parity_difference"
    max_gap: float = Field(ge=0, le=1)
    positive: int | str | bool | None = None  # default: the model's positive class
    label_map: dict[str, int | str | bool] | None = None  # e.g. {"Yes": 1, "No": 0}
    min_group_rows: int = Field(default=1, ge=1)

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in FAIRNESS_METRICS:
            known = ", ".join(sorted(FAIRNESS_METRICS))
            raise ValueError(f"fairness metric {value!r} is not known; use one of: {known}")
        return value


def run_fairness_gate(gate: FairnessGate, model: str) -> GateResult:
    if gate.metric == "equal_opportunity_difference" and gate.label is None:
        raise Invalid(
            "fairness gate with equal_opportunity_difference needs `label` (the true-label "
            "column); add it to the gate",
            field="fairness.label",
        )
    frame, ref = read_frame(gate.dataset, {"column": gate.column, "label": gate.label})
    version = get_model_version(model_uri(model, gate.candidate))
    name = f"{model}/{version.version}"
    loaded = load_model(version.uri)
    if task_of(loaded) == "regression":  # a rate of a predicted class means nothing here
        raise Invalid(
            f"fairness.metric: {gate.metric!r} compares how often each group is predicted "
            f"the positive class, but {name} is a regressor (regression); fairness gates "
            "apply to classifiers: remove the gate or point it at a classifier",
            field="fairness.metric",
        )
    scored = score_model(loaded, name, frame, gate.label or "")
    groups = frame[gate.column].astype(str).to_numpy()
    counts = pd.Series(groups).value_counts()
    keep = pd.Series(groups).isin(counts[counts >= gate.min_group_rows].index).to_numpy()
    positive: Any = gate.positive if gate.positive is not None else scored.positive
    y_true = None
    if gate.label is not None:
        y_true = labels_of(frame, gate.label, gate.label_map)[keep]
        check_labels(y_true, scored)
    result = fairness_gap(
        gate.metric, scored.predictions[keep], groups[keep], y_true=y_true, positive=positive
    )
    passed = result.gap <= gate.max_gap + 1e-12
    rates = ", ".join(
        f"{g.group}={g.rate:.3f} ({g.rows} rows)" if g.rate is not None else f"{g.group}=n/a"
        for g in result.groups
    )
    summary = f"{gate.metric} of {name} across {gate.column} on {ref}: {result.gap:.3f}"
    details = [f"rates: {rates}"]
    if not passed:
        worst = result.worst
        pair = f" ({worst[0]} vs {worst[1]})" if worst else ""
        details.insert(0, f"gap {result.gap:.3f}{pair} exceeds max_gap {gate.max_gap:g}")
    return GateResult(
        kind="fairness",
        name=f"fairness {gate.metric} by {gate.column}",
        passed=passed,
        summary=summary + (f" <= {gate.max_gap:g}" if passed else f" > {gate.max_gap:g}"),
        details=details,
        passed_checks=[f"{summary} <= {gate.max_gap:g}"] if passed else [],
        failed_checks=[] if passed else [f"{summary} > {gate.max_gap:g}", *details],
        data=result.model_dump(mode="json"),
    )
