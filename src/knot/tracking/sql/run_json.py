"""Runs rendered as JSON by the database itself, for search over thousands of runs.

Each row of the search query is one run as a JSON object (params, tags and metric
summaries nested by aggregate subqueries), so Python does no per-row work: the rows
are joined into one JSON array and validated by pydantic-core in one call. SQLite and
PostgreSQL spell the JSON functions differently; this module is the only place that
knows both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, ColumnElement, Float, Table, Text, case, cast, func, literal, select
from sqlalchemy.sql.elements import KeyedColumnElement

from knot.tracking.tables import metric_summaries, params, tags

__all__ = ["run_json"]


def _number(dialect: str, column: KeyedColumnElement[Any]) -> ColumnElement[Any]:
    # Our JSON carries NaN (stored as NULL) and the infinities as strings, which is what
    # the entities' validators read; SQLite would write a bare Inf, which is not JSON.
    if dialect == "postgresql":
        return func.coalesce(func.to_json(column), cast(literal('"NaN"'), JSON))
    return case(
        (column.is_(None), literal("NaN")),
        (column > 1e308, literal("Infinity")),
        (column < -1e308, literal("-Infinity")),
        else_=cast(column, Float),
    )


def _object(dialect: str, pairs: list[tuple[str, Any]]) -> ColumnElement[Any]:
    args: list[Any] = []
    for key, value in pairs:
        args += [literal(key), value]
    return func.json_build_object(*args) if dialect == "postgresql" else func.json_object(*args)


def _group(dialect: str, key: Any, value: Any, where: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        agg = func.coalesce(func.json_object_agg(key, value), cast(literal("{}"), JSON))
        return select(agg).where(where).scalar_subquery()
    return func.json(select(func.json_group_object(key, value)).where(where).scalar_subquery())


@lru_cache(maxsize=8)
def run_json(dialect: str, runs: Table) -> ColumnElement[Any]:
    """A column holding each run as JSON text in the shape of knot.tracking.entities.Run."""
    s = metric_summaries
    summary = _object(
        dialect,
        [
            ("key", s.c.key),
            ("latest", _number(dialect, s.c.latest)),
            ("latest_step", s.c.latest_step),
            ("latest_timestamp", s.c.latest_timestamp),
            ("min", _number(dialect, s.c.min)),
            ("max", _number(dialect, s.c.max)),
            ("count", s.c.count),
        ],
    )
    if dialect == "postgresql":
        packages: Any = cast(func.coalesce(runs.c.packages, "{}"), JSON)
        dirty: Any = runs.c.git_dirty
    else:
        packages = func.json(func.coalesce(runs.c.packages, "{}"))
        dirty = func.json(case((runs.c.git_dirty == 1, "true"), (runs.c.git_dirty == 0, "false")))
    source = _object(
        dialect,
        [
            ("git_commit", runs.c.git_commit),
            ("git_dirty", dirty),
            ("command", runs.c.command),
            ("python_version", runs.c.python_version),
            ("packages", packages),
        ],
    )
    run = _object(
        dialect,
        [
            ("run_id", runs.c.run_id),
            ("experiment_id", runs.c.experiment_id),
            ("name", runs.c.name),
            ("status", runs.c.status),
            ("start_time", runs.c.start_time),
            ("end_time", runs.c.end_time),
            ("user", runs.c.user),
            ("parent_run_id", runs.c.parent_run_id),
            ("source", source),
            (
                "params",
                _group(dialect, params.c.key, params.c.value, params.c.run_id == runs.c.run_id),
            ),
            ("tags", _group(dialect, tags.c.key, tags.c.value, tags.c.run_id == runs.c.run_id)),
            ("metrics", _group(dialect, s.c.key, summary, s.c.run_id == runs.c.run_id)),
        ],
    )
    return cast(run, Text) if dialect == "postgresql" else run
