"""A challenger against the champion, on the same held-out rows, under a comparison policy.

The policy: the primary `metric` must be better by at least `min_margin`; each guard
metric may not get worse by more than its tolerance; with `segment`, the primary metric
may not regress by more than `segment_tolerance` inside any group of that column (groups
smaller than `min_segment_rows` are skipped, and say so); `thresholds` are absolute
floors ("accuracy >= 0.7") for the challenger alone. Every failure is one reason that
names the metric, both values and the margin it missed. `knot check` and the retrain
loop both decide with `compare`. Every metric the policy names must measure the model's
task (knot.registry.task): `accuracy` on a regressor is refused before anything is
compared, naming the rule and the metrics that apply.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from knot.gates.evaluate_data import (
    Scored,
    check_labels,
    labels_of,
    model_uri,
    read_frame,
    score_model,
)
from knot.gates.evaluate_metrics import compute_metric, metric
from knot.metrics import check_metric_task
from knot.registry.entities import MetricThreshold
from knot.registry.fluent import get_model_version, load_model
from knot.registry.task import Task, task_of

__all__ = [
    "ComparisonPolicy",
    "Evaluation",
    "MetricComparison",
    "check_policy_task",
    "compare",
    "evaluate_challenger",
]


class ComparisonPolicy(BaseModel):
    """How a challenger must compare with the champion to replace it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = "accuracy"
    min_margin: float = 0.0
    guards: dict[str, float] = Field(default_factory=dict)  # metric -> allowed regression
    segment: str | None = None
    segment_tolerance: float = 0.0
    min_segment_rows: int = Field(default=30, ge=1)
    thresholds: list[str] = Field(default_factory=list)
    positive: int | str | bool | None = None  # the positive class; default: the model's last
    # held-out label value -> what the model predicts for it, e.g. {"Yes": 1, "No": 0}
    label_map: dict[str, int | str | bool] | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        metric(value)
        return value

    @field_validator("guards", mode="before")
    @classmethod
    def _guard_list(cls, value: Any) -> Any:
        # `guards: [recall, f1]` means "may not regress at all"
        if isinstance(value, list):
            return {str(name): 0.0 for name in value}
        return value

    @field_validator("guards")
    @classmethod
    def _known_guards(cls, value: dict[str, float]) -> dict[str, float]:
        for name, tolerance in value.items():
            metric(name, field="guards")
            if tolerance < 0:
                raise ValueError(f"guard {name!r} tolerance {tolerance} must be >= 0")
        return value

    @field_validator("thresholds")
    @classmethod
    def _parsable(cls, value: list[str]) -> list[str]:
        for text in value:
            metric(MetricThreshold.parse(text).metric, field="thresholds")
        return value

    def metric_rules(self, where: str) -> list[tuple[str, str]]:
        """(rule, metric) for every metric the policy names, e.g. ("quality.guards",
        "recall"), in the words an error should use."""
        rules = [(f"{where}.metric", self.metric)]
        rules += [(f"{where}.guards", name) for name in self.guards]
        rules += [(f"{where}.thresholds", MetricThreshold.parse(t).metric) for t in self.thresholds]
        return rules


def check_policy_task(policy: ComparisonPolicy, task: Task | None, model: str, where: str) -> None:
    """Invalid when a metric of `policy` does not measure `task` (e.g. `accuracy` for a
    regressor), naming the rule (`where`.metric, .guards or .thresholds)."""
    for rule, name in policy.metric_rules(where):
        check_metric_task(name, task, where=rule, model=model)


class MetricComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    role: Literal["primary", "guard", "segment", "threshold"]
    segment: str | None = None
    rows: int
    champion: float | None
    challenger: float
    better_by: float | None  # challenger minus champion in the metric's better direction
    required: float  # the least better_by (or, for a threshold, the bound) that passes
    passed: bool
    reason: str | None = None


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    challenger: str
    champion: str | None
    dataset: str | None
    task: Task | None = None  # the challenger's, when known (knot.registry.task)
    rows: int
    passed: bool
    reasons: list[str]
    comparisons: list[MetricComparison]
    skipped_segments: list[str] = []

    def headline(self) -> str:
        """One short line: the verdict, what it was compared with, on how many rows."""
        verdict = "accepted" if self.passed else "rejected"
        against = f"against {self.champion}" if self.champion else "(no champion yet)"
        failed = f" ({len(self.reasons)} check(s) failed)" if self.reasons else ""
        return f"{self.challenger} {verdict} {against} on {self.rows:,} rows{failed}"

    def __repr__(self) -> str:
        return f"<Evaluation {self.headline()}>"

    def summary(self) -> str:
        """The headline and every reason."""
        return "; ".join([self.headline(), *self.reasons])


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


_WHAT = {
    "primary": ("must improve by", "min_margin"),
    "guard": ("may regress by at most", "guards"),
    "segment": ("may regress by at most", "segment_tolerance"),
}


def _compare_one(
    name: str,
    role: Literal["primary", "guard", "segment"],
    required: float,
    y: np.ndarray,
    pair: tuple[Scored, Scored | None],
    positive: Any,
    rows: np.ndarray | slice,
    segment: str | None = None,
) -> MetricComparison:
    challenger, champion = pair

    def value(s: Scored) -> float:
        scores = None if s.scores is None else s.scores[rows]
        return compute_metric(name, y[rows], s.predictions[rows], scores, positive=positive)

    ours = value(challenger)
    base = {"metric": name, "role": role, "segment": segment, "rows": len(y[rows])}
    if champion is None:
        return MetricComparison(
            **base, champion=None, challenger=ours, better_by=None, required=required, passed=True
        )
    theirs = value(champion)
    better = metric(name).better_by(ours, theirs)
    passed = better >= required - 1e-12
    reason = None
    if not passed:
        what, key = _WHAT[role]
        where = f" in segment {segment}" if segment else ""
        bound = required if role == "primary" else -required
        reason = (
            f"{role} {name}{where}: challenger {_fmt(ours)} vs champion {_fmt(theirs)} "
            f"(better by {better:+.4g}); it {what} {bound:g} ({key})"
        )
    return MetricComparison(
        **base,
        champion=theirs,
        challenger=ours,
        better_by=better,
        required=required,
        passed=passed,
        reason=reason,
    )


def _thresholds(
    policy: ComparisonPolicy, y: np.ndarray, challenger: Scored, positive: Any
) -> list[MetricComparison]:
    out = []
    for text in policy.thresholds:
        t = MetricThreshold.parse(text)
        ours = compute_metric(
            t.metric, y, challenger.predictions, challenger.scores, positive=positive
        )
        passed = t.passes(ours)
        out.append(
            MetricComparison(
                metric=t.metric,
                role="threshold",
                rows=len(y),
                champion=None,
                challenger=ours,
                better_by=None,
                required=t.value,
                passed=passed,
                reason=None if passed else f"threshold {t}: challenger has {_fmt(ours)}",
            )
        )
    return out


def compare(
    model: str,
    policy: ComparisonPolicy,
    y_true: Any,
    challenger: Scored,
    champion: Scored | None,
    *,
    segments: Any = None,
    dataset: str | None = None,
    task: Task | None = None,
) -> Evaluation:
    """Decide whether `challenger` may replace `champion` on the same rows `y_true`."""
    y = np.asarray(y_true)
    positive = policy.positive if policy.positive is not None else challenger.positive
    pair = (challenger, champion)
    everything = slice(None)
    comparisons = [
        _compare_one(policy.metric, "primary", policy.min_margin, y, pair, positive, everything)
    ]
    comparisons += [
        _compare_one(name, "guard", -tol, y, pair, positive, everything)
        for name, tol in policy.guards.items()
    ]
    skipped: list[str] = []
    if segments is not None and champion is not None:
        groups = np.asarray(segments)
        for group in sorted(set(groups.tolist()), key=str):
            rows = groups == group
            label = f"{policy.segment}={group}"
            if int(rows.sum()) < policy.min_segment_rows:
                skipped.append(f"{label} ({int(rows.sum())} rows < {policy.min_segment_rows})")
                continue
            tolerance = -policy.segment_tolerance
            comparisons.append(
                _compare_one(policy.metric, "segment", tolerance, y, pair, positive, rows, label)
            )
    comparisons += _thresholds(policy, y, challenger, positive)
    reasons = [c.reason for c in comparisons if c.reason]
    return Evaluation(
        model=model,
        challenger=challenger.name,
        champion=champion.name if champion else None,
        dataset=dataset,
        task=task,
        rows=len(y),
        passed=not reasons,
        reasons=reasons,
        comparisons=comparisons,
        skipped_segments=skipped,
    )


def evaluate_challenger(
    model: str,
    challenger: int | str,
    *,
    dataset: str,
    label: str,
    policy: ComparisonPolicy,
    champion: str = "champion",
    where: str = "policy",
) -> Evaluation:
    """Load both versions of `model` (challenger: a version number or alias; champion: an
    alias) and `compare` them on dataset `dataset` (e.g. 'churn_holdout@2'). `where`
    names the policy in errors (the loop's "evaluation", knot check's "quality")."""
    from knot.errors import NotFound

    frame, ref = read_frame(dataset, {"label": label, "segment": policy.segment})
    ours = get_model_version(model_uri(model, challenger))
    loaded = load_model(ours.uri)
    task = task_of(loaded)
    check_policy_task(policy, task, f"{model}/{ours.version}", where)
    scored = score_model(loaded, f"{model}/{ours.version}", frame, label)
    try:
        theirs = get_model_version(f"models:/{model}@{champion}")
    except NotFound:
        theirs = None
    rival = None
    if theirs is not None:
        rival_model = load_model(theirs.uri)
        rival = score_model(rival_model, f"{model}/{theirs.version}", frame, label)
    segments = frame[policy.segment].to_numpy() if policy.segment else None
    y_true = labels_of(frame, label, policy.label_map)
    check_labels(y_true, scored)
    return compare(model, policy, y_true, scored, rival, segments=segments, dataset=ref, task=task)
