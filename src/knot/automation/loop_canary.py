"""Judging a running canary from what production records: the service's prediction log
joined with the labels that came back (knot.monitoring.performance), for the challenger
version since the canary started, and the champion beside it for context.

The live error rate is errors over labeled challenger rows. It rolls the canary back as
soon as enough rows are labeled and it exceeds max_error_rate; it promotes once
watch_seconds have passed with enough labeled rows under the bar; with too few labels it
keeps watching up to the give-up time, then rolls back (nobody could judge it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from knot.automation.loop_config import CanaryConfig

__all__ = ["CanaryReading", "Verdict", "judge", "read_canary"]


@dataclass(frozen=True)
class CanaryReading:
    labeled: int  # challenger rows with a label
    errors: float  # of those, how many were wrong
    champion_labeled: int
    champion_errors: float

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.labeled if self.labeled else None

    @property
    def champion_error_rate(self) -> float | None:
        return self.champion_errors / self.champion_labeled if self.champion_labeled else None


@dataclass(frozen=True)
class Verdict:
    action: Literal["wait", "promote", "rollback"]
    reason: str


def read_canary(
    model: str, challenger: int, champion: int | None, since_ms: int, window: str
) -> CanaryReading:
    from knot.monitoring.performance import performance

    totals = {challenger: [0, 0.0], champion: [0, 0.0]}
    for w in performance(model, window=window, by_version=True, since_ms=since_ms):
        rate = w.metrics.get("error_rate")
        if w.version in totals and rate is not None and w.labeled:
            totals[w.version][0] += w.labeled
            totals[w.version][1] += rate * w.labeled
    ours = totals[challenger]
    theirs = totals[champion] if champion is not None else [0, 0.0]
    return CanaryReading(int(ours[0]), float(ours[1]), int(theirs[0]), float(theirs[1]))


def _rates(reading: CanaryReading) -> str:
    champion = reading.champion_error_rate
    versus = (
        f"; champion {champion:.3f} over {reading.champion_labeled}" if champion is not None else ""
    )
    return f"over {reading.labeled} labeled requests{versus}"


def judge(canary: CanaryConfig, reading: CanaryReading, elapsed_seconds: float) -> Verdict:
    rate = reading.error_rate
    enough = reading.labeled >= canary.min_requests
    if enough and rate is not None and rate > canary.max_error_rate:
        return Verdict(
            "rollback",
            f"live error rate {rate:.3f} > max_error_rate {canary.max_error_rate:g} "
            + _rates(reading),
        )
    if elapsed_seconds < canary.watch_seconds:
        return Verdict("wait", f"watching ({elapsed_seconds:.0f}/{canary.watch_seconds:g} s)")
    if enough and rate is not None:
        return Verdict(
            "promote",
            f"live error rate {rate:.3f} <= max_error_rate {canary.max_error_rate:g} "
            + _rates(reading),
        )
    if elapsed_seconds >= canary.give_up_seconds:
        return Verdict(
            "rollback",
            f"only {reading.labeled} labeled challenger requests after {elapsed_seconds:.0f} s "
            f"(min_requests {canary.min_requests}); the canary could not be judged",
        )
    return Verdict(
        "wait", f"{reading.labeled}/{canary.min_requests} labeled challenger requests so far"
    )
