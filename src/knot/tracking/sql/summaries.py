"""Per-run metric summaries (latest, min, max, count), kept up to date in the same
transaction as the points so that listings and search never read the points table."""

from __future__ import annotations

import math
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, case
from sqlalchemy.dialects import postgresql, sqlite

from knot.store.prepared import Prepared
from knot.tracking.sql.series import Point
from knot.tracking.tables import metric_summaries

__all__ = ["summary_rows", "upsert_summaries"]


Fold = list[Any]  # [latest value, its step, its timestamp, min, max, count]


def summary_rows(points: list[Point], period: int | None) -> list[dict[str, Any]]:
    """Fold (run_id, key, value, step, ts) points into one summary row per (run, key);
    `period` is their cycle (series.find_cycle), None for a batch of another shape."""
    folds = _fold(points) if period is None else _periodic(points, period)
    isnan = math.isnan
    return [
        {
            "run_id": run_id,
            "key": key,
            "latest": None if isnan(a[0]) else a[0],
            "latest_step": a[1],
            "latest_timestamp": a[2],
            "min": a[3],
            "max": a[4],
            "count": a[5],
        }
        for (run_id, key), a in folds.items()
    ]


def _fold(points: list[Point]) -> dict[tuple[str, str], Fold]:
    """The reference fold, a point at a time: the latest point is the one with the
    greatest (step, timestamp), the later one on a tie; min and max skip NaN."""
    acc: dict[tuple[str, str], Fold] = {}
    isnan = math.isnan
    for run_id, key, value, step, ts in points:
        a = acc.get((run_id, key))
        nan = isnan(value)
        if a is None:
            low = None if nan else value
            acc[(run_id, key)] = [value, step, ts, low, low, 1]
            continue
        if step > a[1] or (step == a[1] and ts >= a[2]):
            a[0], a[1], a[2] = value, step, ts
        if not nan:
            if a[3] is None or value < a[3]:
                a[3] = value
            if a[4] is None or value > a[4]:
                a[4] = value
        a[5] += 1
    return acc


def _periodic(points: list[Point], p: int) -> dict[tuple[str, str], Fold]:
    """_fold's answer for points in a cycle of p series (knot.tracking.sql.series): series
    j is every p-th point from j, and its min, max and latest come from C-level builtins
    over slices; a series whose last point is not its latest is folded point by point."""
    runs, keys = list(map(itemgetter(0), points[:p])), list(map(itemgetter(1), points[:p]))
    values, steps, stamps = (list(map(itemgetter(i), points)) for i in (2, 3, 4))
    folds: dict[tuple[str, str], Fold] = {}
    for j in range(p):
        vs, ss, ts = values[j::p], steps[j::p], stamps[j::p]
        last = len(vs) - 1
        if ss[last] != max(ss) or ts[last] != max(ts):
            folds.update(_fold(points[j::p]))
            continue
        total = sum(vs)
        finite = vs if total - total == 0 else [v for v in vs if v == v]  # v == v: not NaN
        low, high = (min(finite), max(finite)) if finite else (None, None)
        folds[(runs[j], keys[j])] = [vs[last], ss[last], ts[last], low, high, len(vs)]
    return folds


def upsert_summaries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        _upsert_statement(conn.dialect.name).run(conn, rows)


@lru_cache(maxsize=4)
def _upsert_statement(dialect_name: str) -> Prepared:
    # Built once per dialect: constructing this statement costs more than running it,
    # and on SQLite it runs on the driver's cursor (every batch of metrics runs it).
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(metric_summaries)
    new, old = stmt.excluded, metric_summaries.c
    newer = (new.latest_step > old.latest_step) | (
        (new.latest_step == old.latest_step) & (new.latest_timestamp >= old.latest_timestamp)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[old.run_id, old.key],
        set_={
            "latest": case((newer, new.latest), else_=old.latest),
            "latest_step": case((newer, new.latest_step), else_=old.latest_step),
            "latest_timestamp": case((newer, new.latest_timestamp), else_=old.latest_timestamp),
            "min": case((old.min.is_(None) | (new.min < old.min), new.min), else_=old.min),
            "max": case((old.max.is_(None) | (new.max > old.max), new.max), else_=old.max),
            "count": old.count + new.count,
        },
    )
    return Prepared(stmt)
