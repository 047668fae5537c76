"""Metric points into the metrics table, many rows per INSERT statement.

A batch holds up to tens of thousands of points. One prepared statement executed per
row (executemany) pays the statement's per-execution overhead for every point; an
INSERT with ROWS value lists pays it once per ROWS points, and the rows land in the
same order. ROWS x 5 parameters stays under SQLite's oldest limit of 999 per statement.
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import Connection

from knot.store.prepared import run_driver_sql

__all__ = ["PointWriter"]

ROWS = 100
_COLUMNS = 'INSERT INTO metrics (run_id, "key", value, step, "timestamp") VALUES '

Point = tuple[str, str, float, int, int]


class PointWriter:
    """Inserts (run_id, key, value, step, timestamp) tuples, bound as they are: a NaN
    value binds as NULL in SQLite and as NaN in PostgreSQL; both read back as NaN."""

    def __init__(self, paramstyle: str) -> None:
        mark = "?" if paramstyle == "qmark" else "%s"
        row = f"({mark}, {mark}, {mark}, {mark}, {mark})"
        self.one = _COLUMNS + row
        self.many = _COLUMNS + ", ".join([row] * ROWS)

    def insert(self, conn: Connection, points: list[Point]) -> None:
        whole = len(points) - len(points) % ROWS
        if whole:
            rows = range(0, whole, ROWS)
            groups = [tuple(chain.from_iterable(points[i : i + ROWS])) for i in rows]
            run_driver_sql(conn, self.many, groups)
        if whole < len(points):
            run_driver_sql(conn, self.one, points[whole:])
