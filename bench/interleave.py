"""Interleaved runs: the peer and Knot take turns N times, and the answer is a ratio of medians.

On a shared machine one run of each side can land in a busy or a quiet moment, so the
ratio of two single numbers moves by 30% between runs. Alternating the sides (peer, Knot,
peer, Knot, ...) spreads any slow stretch over both, and the median of each side ignores
the odd outlier. The load average before and after says how busy the machine was.
Nothing here asserts a time.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_N = 5


@dataclass
class Series:
    """One side's values over the interleaved rounds (seconds, or a rate)."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


@dataclass
class Interleaved:
    """A scenario's rounds for both sides, with the load average around them."""

    scenario: str
    unit: str  # "s" (lower is better) or a rate such as "points/s", "MB/s" (higher is better)
    higher_is_better: bool
    peer_name: str
    peer: Series = field(default_factory=Series)
    knot: Series = field(default_factory=Series)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def ratio(self) -> float | None:
        """How many times better Knot's median is than the peer's."""
        if not self.peer.values or not self.knot.values:
            return None
        p, k = self.peer.median, self.knot.median
        if not p or not k:
            return None
        return k / p if self.higher_is_better else p / k

    def as_json(self) -> dict[str, Any]:
        def side(s: Series) -> dict[str, Any]:
            if not s.values:
                return {"values": []}
            return {"values": s.values, "median": s.median, "min": s.low, "max": s.high}

        return {
            "scenario": self.scenario,
            "unit": self.unit,
            "peer_name": self.peer_name,
            "peer": side(self.peer),
            "knot": side(self.knot),
            "ratio_of_medians": self.ratio,
            "load_before": self.load_before,
            "load_after": self.load_after,
        }


def interleave(
    scenario: str,
    unit: str,
    peer: Callable[[int], float] | None,
    knot: Callable[[int], float] | None,
    *,
    n: int = DEFAULT_N,
    peer_name: str = "peer",
    higher_is_better: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> Interleaved:
    """Run peer(i) then knot(i) for i in range(n); each returns the round's value.

    A side given as None is skipped (e.g. `--sides knot`). Each callable does its own
    correctness check and raises on a wrong answer, so a fast wrong result never counts.
    """
    better = (unit != "s") if higher_is_better is None else higher_is_better
    out = Interleaved(scenario, unit, better, peer_name)
    out.load_before = os.getloadavg()
    for i in range(n):
        for name, fn, series in ((peer_name, peer, out.peer), ("knot", knot, out.knot)):
            if fn is None:
                continue
            value = fn(i)
            series.values.append(value)
            if progress is not None:
                progress(f"{scenario}: round {i + 1}/{n}, {name} {fmt(value, unit)}")
    out.load_after = os.getloadavg()
    return out


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    if unit == "points/s":
        return f"{value:,.0f} pts/s"
    return f"{value:,.0f} {unit}"


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def print_interleaved(title: str, rows: list[Interleaved], goals: dict[str, float]) -> None:
    """A table: each side's median (min-max), the ratio of medians, the goal, the load."""
    from rich.table import Table

    from _common import console

    n = max((len(r.knot.values) or len(r.peer.values) for r in rows), default=0)
    table = Table(title=f"{title}, {n} interleaved rounds", title_justify="left")
    for name in ("scenario", "peer median (min-max)", "knot median (min-max)", "ratio", "goal"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    table.add_column("load before / after", justify="right")
    for r in rows:

        def side(s: Series, unit: str) -> str:
            if not s.values:
                return "-"
            return f"{fmt(s.median, unit)} ({fmt(s.low, unit)}-{fmt(s.high, unit)})"

        ratio = r.ratio
        goal = goals.get(r.scenario)
        met = "" if goal is None or ratio is None else (" met" if ratio >= goal else " NOT met")
        table.add_row(
            r.scenario,
            f"{r.peer_name}: {side(r.peer, r.unit)}",
            side(r.knot, r.unit),
            "-" if ratio is None else f"{ratio:,.2f}x",
            "-" if goal is None else f">= {goal:g}x{met}",
            f"{_load(r.load_before)} / {_load(r.load_after)}",
        )
    console.print(table)
    console.print("  [dim]ratio = how many times better Knot's median is than the peer's[/]")
