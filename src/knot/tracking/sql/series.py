"""A batch's metric points as series: the cycle `log_metrics({...}, step)` logs them in.

A training loop that logs a dict of metrics each step sends points that cycle through the
same (run, key) pairs in the same order: k1, k2, k3, k1, k2, k3, ... With the cycle's
length p, series j is every p-th point from j, so the store can take a series with one
slice (in C) instead of a Python step per point: to fold summaries
(knot.tracking.sql.summaries) and to insert the points one series after another, which
walks the (run_id, key, step) index in order instead of jumping between p places in it
(half the insert time in SQLite for 100k points).
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter

__all__ = ["MIN_POINTS", "Point", "find_cycle", "in_series_order"]

Point = tuple[str, str, float, int, int]
#: below this a batch is cheaper to take a point at a time
MIN_POINTS = 64
_MAX_PERIOD = 4096  # pairs in one cycle; a batch of more is taken a point at a time


def find_cycle(points: list[Point]) -> int | None:
    """The cycle's length p when point i and point i + p always share their (run, key)
    and the first p points are p different series; None for a batch of another shape."""
    if len(points) < MIN_POINTS:
        return None
    runs, keys = list(map(itemgetter(0), points)), list(map(itemgetter(1), points))
    head = dict.fromkeys(zip(runs[:_MAX_PERIOD], keys[:_MAX_PERIOD], strict=True))
    # the first p points are the first p distinct pairs, in order
    p = next((i for i, pair in enumerate(head) if pair != (runs[i], keys[i])), len(head))
    if p == 0 or keys[p:] != keys[:-p] or runs[p:] != runs[:-p]:
        return None
    return p


def in_series_order(points: list[Point], period: int) -> list[Point]:
    """The points series by series, in (run, key) order, each series in logged order (so
    points of one step keep the order they were logged in)."""
    order = sorted(range(period), key=lambda j: points[j][:2])
    return list(chain.from_iterable(points[j::period] for j in order))
