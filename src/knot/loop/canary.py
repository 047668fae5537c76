"""Judging a running canary from what production records: the service's prediction log
joined with the labels that came back (knot.monitoring.performance.window_metrics), per version over
every request since the canary started, by any metric of the model's task (MAE for a
regressor, ROC AUC for a classifier, ...; knot.metrics says which
direction is better).

The decision, in order:
1. `limit` breached by the challenger (with at least min_labeled labeled requests):
   roll back at once, whatever watch_seconds says: a bad canary is cut short.
2. before watch_seconds: wait.
3. an arm that is compared (the challenger; the champion too with min_margin) has fewer
   than min_labeled labeled requests, or its metric is undefined there (ROC AUC over one
   class): wait, and after the give-up time roll back, saying how many labels there
   are, how many are needed and where they come from (/feedback).
4. with min_margin: promote when the challenger's live value is better than the
   champion's by at least min_margin (a tie passes min_margin 0), else roll back;
   without it (limit alone): promote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from knot.loop.config import CanaryConfig
from knot.metrics import metric_info
from knot.registry.task import Task

__all__ = ["Arm", "CanaryReading", "Verdict", "judge", "read_canary"]


@dataclass(frozen=True)
class Arm:
    """One version's live requests since the canary started."""

    labeled: int  # requests with a label that fits the predictions
    value: float | None  # the metric over them (None: none, or undefined on them)
    invalid: int = 0  # labels that did not fit the predictions (text for a regressor, ...)


@dataclass(frozen=True)
class CanaryReading:
    metric: str
    challenger: Arm
    champion: Arm | None  # None when there is no champion version to compare with


@dataclass(frozen=True)
class Verdict:
    action: Literal["wait", "promote", "rollback"]
    reason: str


def read_canary(
    model: str,
    challenger: int,
    champion: int | None,
    since_ms: int,
    metric: str,
    task: Task | None = None,
) -> CanaryReading:
    """Both arms' labeled requests and `metric` over them, from the logs."""
    from knot.monitoring.performance.window_metrics import performance_since

    found = {m.version: m for m in performance_since(model, since_ms, task=task)}

    def arm(version: int) -> Arm:
        m = found.get(version)
        if m is None:
            return Arm(0, None)
        return Arm(m.labeled, m.metrics.get(metric) if m.labeled else None, m.invalid_labels)

    return CanaryReading(metric, arm(challenger), arm(champion) if champion is not None else None)


def _fmt(value: float | None, sign: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:{sign}.3f}" if abs(value) < 100 else f"{value:{sign},.1f}"


def _over(reading: CanaryReading) -> str:
    ours, theirs = reading.challenger, reading.champion
    text = f"over {ours.labeled} labeled challenger requests"
    if theirs is not None and theirs.labeled:
        text += f"; champion {_fmt(theirs.value)} over {theirs.labeled}"
    return text


def _breached(canary: CanaryConfig, value: float | None) -> bool:
    bound = canary.bound
    assert bound is not None and value is not None
    return value < bound if metric_info(canary.metric).higher_is_better else value > bound


def _short(canary: CanaryConfig, reading: CanaryReading) -> list[tuple[str, Arm]]:
    """The compared arms that cannot be judged yet."""
    arms = [("challenger", reading.challenger)]
    if canary.min_margin is not None and reading.champion is not None:
        arms.append(("champion", reading.champion))
    return [(n, a) for n, a in arms if a.labeled < canary.min_labeled or a.value is None]


def _progress(canary: CanaryConfig, name: str, arm: Arm) -> str:
    if arm.labeled >= canary.min_labeled:
        return f"{canary.metric} undefined over {arm.labeled} labeled {name} requests"
    return f"{arm.labeled}/{canary.min_labeled} labeled {name} requests"


def _missing(canary: CanaryConfig, name: str, arm: Arm, elapsed: float) -> str:
    bad = f" ({arm.invalid} labels did not fit its predictions)" if arm.invalid else ""
    if arm.labeled >= canary.min_labeled:  # enough labels, but the metric is undefined
        return (
            f"{canary.metric} is undefined over the {arm.labeled} labeled {name} requests "
            f"after {elapsed:.0f} s{bad} (ROC AUC needs both classes and scores); label more "
            "requests or judge by another metric"
        )
    return (
        f"only {arm.labeled} labeled {name} requests after {elapsed:.0f} s{bad}; need "
        f"{canary.min_labeled} — post labels to /feedback or lower canary.min_labeled"
    )


def judge(canary: CanaryConfig, reading: CanaryReading, elapsed_seconds: float) -> Verdict:
    name, ours = canary.metric, reading.challenger
    higher = metric_info(name).higher_is_better
    sure = ours.labeled >= canary.min_labeled and ours.value is not None
    if canary.bound is not None and sure and _breached(canary, ours.value):
        side = "<" if higher else ">"
        return Verdict(
            "rollback",
            f"live {name} {_fmt(ours.value)} {side} {canary.bound_key} {canary.bound:g} "
            + _over(reading),
        )
    if elapsed_seconds < canary.watch_seconds:
        return Verdict("wait", f"watching ({elapsed_seconds:.0f}/{canary.watch_seconds:g} s)")
    short = _short(canary, reading)
    if short:
        if elapsed_seconds >= canary.give_up_seconds:
            arm_name, arm = short[0]
            return Verdict("rollback", _missing(canary, arm_name, arm, elapsed_seconds))
        return Verdict("wait", "; ".join(_progress(canary, n, a) for n, a in short) + " so far")
    assert ours.value is not None
    theirs = reading.champion
    if canary.min_margin is None or theirs is None or theirs.value is None:
        side = ">=" if higher else "<="
        bar = (
            f"{side} {canary.bound_key} {canary.bound:g}"
            if canary.bound is not None
            else "(no champion to compare with)"
        )
        return Verdict("promote", f"live {name} {_fmt(ours.value)} {bar} " + _over(reading))
    better = metric_info(name).better_by(ours.value, theirs.value)
    passed = better >= canary.min_margin - 1e-12
    versus = (
        f"live {name} {_fmt(ours.value)} vs champion {_fmt(theirs.value)} over "
        f"{ours.labeled} and {theirs.labeled} labeled requests: better by {_fmt(better, '+')}"
    )
    if passed:
        return Verdict("promote", f"{versus} >= min_margin {canary.min_margin:g}")
    return Verdict("rollback", f"{versus} < min_margin {canary.min_margin:g}")
