"""Thin a metric's history to what a chart can show, keeping the curve's shape.

A chart is about 1,000 pixels wide, so 10,000 points per curve only cost time: the
points are split into equal buckets (by position) and each bucket keeps its lowest and
highest value, in step order, so no spike and no dip disappears. The first and the last
point are always kept, so the curve starts and ends where the run did. A bucket of NaN
only keeps nothing (a chart draws NaN as a gap, and a gap one pixel wide is invisible).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from knot.errors import Invalid
from knot.tracking.validate import check_run_id

__all__ = [
    "MAX_POINTS_LIMIT",
    "MAX_RUNS",
    "check_histories_call",
    "check_max_points",
    "thin_columns",
]

# a curve of more points than this is no chart any more; get_metric_history reads it all
MAX_POINTS_LIMIT = 1_000_000


def check_max_points(max_points: object) -> int:
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, int)
        or not 4 <= max_points <= MAX_POINTS_LIMIT
    ):
        raise Invalid(
            f"max_points {max_points!r} is out of range; ask for 4 to {MAX_POINTS_LIMIT:,} "
            "points per curve (about the chart's width in pixels, e.g. 2000)",
            field="max_points",
        )
    return max_points


# a compare view shows at most 20; a few more for scripts, not a scan of the whole store
MAX_RUNS = 100


def check_histories_call(run_ids: Sequence[str], key: object, max_points: object) -> list[str]:
    """The distinct run ids, in the order given, after the checks every store makes."""
    wanted = list(dict.fromkeys(run_ids))
    if len(wanted) > MAX_RUNS:
        raise Invalid(
            f"{len(wanted)} runs asked for at once; read at most {MAX_RUNS} runs' histories "
            "per call (split the ids into several calls)",
            field="run_ids",
        )
    for run_id in wanted:
        check_run_id(run_id)
    if not isinstance(key, str) or not key:
        raise Invalid(f"metric key {key!r} is empty or not text; name a metric", field="key")
    check_max_points(max_points)
    return wanted


def thin_columns(steps: Any, values: Any, max_points: int) -> tuple[list[int], list[float]]:
    """At most `max_points` of the (step, value) points, given in step order as numpy
    arrays (int64 and float64); returned as plain lists."""
    import numpy as np

    n = len(steps)
    if n <= max_points:
        return steps.tolist(), values.tolist()
    buckets = (max_points - 2) // 2
    bucket = (np.arange(n, dtype=np.int64) * buckets) // n
    missing = np.isnan(values)
    # lexsort orders by its last key first: per bucket, numbers before NaN, then by value
    lowest_first = np.lexsort((values, missing, bucket))
    highest_first = np.lexsort((-values, missing, bucket))
    starts = np.searchsorted(bucket, np.arange(buckets))
    low, high = lowest_first[starts], highest_first[starts]
    picked = np.concatenate((low[~missing[low]], high[~missing[high]], [0, n - 1]))
    kept = np.unique(picked)  # sorted positions, so the points stay in step order
    return steps[kept].tolist(), values[kept].tolist()
