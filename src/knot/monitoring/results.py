"""Monitor results: one value per (model, version, window, metric, segment), written by
`monitor_run` and read by alert evaluation, reports and the live gauges, on the
session's monitoring store (SQL, or a Knot server: knot.monitoring.stores)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from knot.errors import Invalid
from knot.monitoring.stores import monitoring_store
from knot.monitoring.windows import parse_window
from knot.refs import check_model_name

__all__ = ["ResultPoint", "check_points", "latest_results", "read_results", "save_results"]


class ResultPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    window: str
    window_start: int
    window_end: int
    metric: str
    segment: str = ""  # "" for all traffic, else "column=value"
    value: float | None
    detail: dict[str, Any] | None = None


def check_points(points: Sequence[ResultPoint]) -> None:
    """Invalid naming the first point that no monitoring pass could have computed (a
    bad model name or window, an empty metric, an infinite value, a window that ends
    before it starts); a server checks what clients send before storing any of it."""
    for i, p in enumerate(points):
        where = f"result {i} ({p.model}/{p.version} {p.metric})"
        for field, check in (("model", check_model_name), ("window", parse_window)):
            try:
                check(getattr(p, field))
            except Invalid as exc:
                raise Invalid(f"{where}: {exc.message}", field=field) from None
        if len(p.window) > 16:
            raise Invalid(f"{where}: window {p.window[:40]!r} is too long", field="window")
        if not 1 <= p.version < 2**31:
            raise Invalid(f"{where}: version {p.version} must be 1 to 2**31-1", field="version")
        if not p.metric or len(p.metric) > 256:
            raise Invalid(f"{where}: metric {p.metric!r} must be 1-256 characters", field="metric")
        if len(p.segment) > 512:
            raise Invalid(f"{where}: segment is longer than 512 characters", field="segment")
        if p.value is not None and not math.isfinite(p.value):
            raise Invalid(f"{where}: value {p.value!r} must be a finite number", field="value")
        if p.window_end <= p.window_start:
            raise Invalid(
                f"{where}: window_end {p.window_end} must be after window_start {p.window_start}",
                field="window_end",
            )


def save_results(points: Sequence[ResultPoint]) -> int:
    """Store `points`, replacing earlier values of the same windows and metrics; Invalid
    (nothing stored) when one of them could not have been computed (check_points)."""
    if not points:
        return 0
    check_points(points)
    return monitoring_store().save_results(points)


def read_results(
    model: str,
    *,
    metric: str | None = None,
    window: str | None = None,
    segment: str | None = "",
    since_ms: int | None = None,
) -> list[ResultPoint]:
    """Stored results of `model`, oldest window first; `segment=None` reads every slice,
    `metric` ending in "." every metric with that prefix ("drift.")."""
    return monitoring_store().read_results(
        model, metric=metric, window=window, segment=segment, since_ms=since_ms
    )


def latest_results(model: str | None = None) -> list[ResultPoint]:
    """The newest window's results of each (model, version, window size, metric), whole
    traffic only: what gauges show now."""
    return monitoring_store().latest_results(model)
