"""Monitor results on a SQL database (the monitor_results table): SqlMonitoring
(knot.monitoring.sql_store) and alert evaluation call these inside their transactions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select

from knot.monitoring.results import ResultPoint
from knot.monitoring.tables import monitor_results
from knot.store.database import now_ms

__all__ = ["select_latest", "select_points", "write_points"]


def write_points(conn: Connection, points: Sequence[ResultPoint]) -> int:
    """Store `points`, replacing earlier values of the same windows and metrics."""
    if not points:
        return 0
    at = now_ms()
    t = monitor_results
    for chunk in _chunks(points, 200):
        conn.execute(
            delete(t).where(
                or_(
                    *(
                        and_(
                            t.c.model == p.model,
                            t.c.version == p.version,
                            t.c.window_size == p.window,
                            t.c.window_start == p.window_start,
                            t.c.metric == p.metric,
                            t.c.segment == p.segment,
                        )
                        for p in chunk
                    )
                )
            )
        )
    rows = {_key(p): _row(p, at) for p in points}  # the last of duplicates wins
    conn.execute(t.insert(), list(rows.values()))
    return len(rows)


def _key(p: ResultPoint) -> tuple[Any, ...]:
    return (p.model, p.version, p.window, p.window_start, p.metric, p.segment)


def _row(p: ResultPoint, at: int) -> dict[str, Any]:
    return {
        "model": p.model,
        "version": p.version,
        "window_size": p.window,
        "window_start": p.window_start,
        "window_end": p.window_end,
        "metric": p.metric,
        "segment": p.segment,
        "value": p.value,
        "detail": json.dumps(p.detail) if p.detail is not None else None,
        "computed_at": at,
    }


def _chunks(items: Sequence[ResultPoint], size: int) -> Iterable[Sequence[ResultPoint]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def select_points(
    conn: Connection,
    model: str,
    *,
    metric: str | None = None,
    window: str | None = None,
    segment: str | None = "",
    since_ms: int | None = None,
) -> list[ResultPoint]:
    """Stored results of `model`, oldest window first; `segment=None` reads every slice,
    `metric` ending in "." every metric with that prefix ("drift.")."""
    t = monitor_results
    query = select(t).where(t.c.model == model)
    if metric is not None:
        query = query.where(
            t.c.metric.startswith(metric, autoescape=True)
            if metric.endswith(".")
            else t.c.metric == metric
        )
    if window is not None:
        query = query.where(t.c.window_size == window)
    if segment is not None:
        query = query.where(t.c.segment == segment)
    if since_ms is not None:
        query = query.where(t.c.window_start >= since_ms)
    query = query.order_by(t.c.window_start, t.c.version, t.c.metric, t.c.segment)
    return [_point(r) for r in conn.execute(query)]


def select_latest(conn: Connection, model: str | None) -> list[ResultPoint]:
    """The newest window's results of each (model, version, window size, metric), whole
    traffic only: what gauges show now."""
    t = monitor_results
    newest = (
        select(
            t.c.model,
            t.c.version,
            t.c.window_size,
            t.c.metric,
            func.max(t.c.window_start).label("start"),
        )
        .where(t.c.segment == "")
        .group_by(t.c.model, t.c.version, t.c.window_size, t.c.metric)
    )
    if model is not None:
        newest = newest.where(t.c.model == model)
    n = newest.subquery()
    query = select(t).join(
        n,
        and_(
            t.c.model == n.c.model,
            t.c.version == n.c.version,
            t.c.window_size == n.c.window_size,
            t.c.metric == n.c.metric,
            t.c.window_start == n.c.start,
        ),
    )
    rows = conn.execute(query.where(t.c.segment == "")).all()
    return sorted((_point(r) for r in rows), key=lambda p: (p.model, p.version, p.metric))


def _point(r: Any) -> ResultPoint:
    return ResultPoint(
        model=r.model,
        version=r.version,
        window=r.window_size,
        window_start=r.window_start,
        window_end=r.window_end,
        metric=r.metric,
        segment=r.segment,
        value=r.value,
        detail=json.loads(r.detail) if r.detail else None,
    )
