"""Runs rendered as JSON by the database itself, for search over thousands of runs.

Each row of the search query is one run as JSON (params, tags and metric summaries
nested by aggregate subqueries, its source apart: run_json_parts), so Python does next
to no per-row work: knot.tracking.sql.run_page joins the rows into one JSON array that
pydantic-core validates in one call. get_run reads the same JSON as one object. SQLite
and PostgreSQL spell the JSON functions differently; this module is the only place
that knows both.
"""

from __future__ import annotations

from functools import lru_cache, reduce
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Table,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import KeyedColumnElement

from knot.tracking.tables import metric_summaries, params, tags

__all__ = ["run_json", "run_json_parts"]

_RUN_FIELDS = ("run_id", "experiment_id", "name", "status", "start_time", "end_time", "user")
_SUMMARY_FIELDS = ("latest_step", "latest_timestamp", "count")
_LARGEST = "1.7976931348623157e308"
_SECOND: ColumnElement[Any] = literal_column("2")  # substr() counts from 1: all but the leading {


@lru_cache(maxsize=8)
def run_json(dialect: str, runs: Table) -> ColumnElement[Any]:
    """A column holding each run as JSON text in the shape of knot.tracking.entities.Run."""
    source, rest = run_json_parts(dialect, runs)
    return _splice(_sql_text('{"source":'), source, _sql_text(","), rest)


@lru_cache(maxsize=8)
def run_json_parts(dialect: str, runs: Table) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Two columns: each run's source as a JSON object, and the rest of the run's object
    without its opening brace, so '{"source":' + source + ',' + rest is the whole run.
    Apart, so a page validates each distinct source (nearly always one per process that
    logged) once instead of once per run."""
    return _postgres(runs) if dialect == "postgresql" else _sqlite(runs)


# --- SQLite -----------------------------------------------------------------------------
# SQLite's JSON functions lose the "this is JSON" mark of a value read back from a
# subquery, so nesting one run's params inside json_object needs json() to parse them
# again; that parsing was a third of a search's time. The nested objects are valid JSON
# text already (json_group_object's, and `packages`, which only insert_runs writes, with
# json.dumps), so they are spliced into the run's object as text instead.


def _sql_text(value: str) -> ColumnElement[Any]:
    """A constant spelled in the statement (our own keys), not a bound parameter."""
    return literal_column("'" + value.replace("'", "''") + "'")


def _splice(*parts: Any) -> ColumnElement[Any]:
    return reduce(lambda left, right: left.op("||")(right), parts)


def _sqlite_object(pairs: list[tuple[str, Any]]) -> ColumnElement[Any]:
    args: list[Any] = []
    for key, value in pairs:
        args += [_sql_text(key), value]
    return func.json_object(*args)


def _sqlite_number(column: KeyedColumnElement[Any]) -> ColumnElement[Any]:
    """A REAL as JSON text that reads back as the same double. SQLite's JSON functions
    write 15 significant digits (0.8841133850033113 came back as 0.884113385003311);
    printf's 17 round-trip every double below 1e100 (past that SQLite's printf rounds
    wrongly now and then, so those keep CAST's 15). NaN is stored as NULL; the
    infinities would come out as a bare Inf, which is not JSON: the entities' validators
    read all three as strings."""
    size = func.abs(column)
    return case(
        (size < literal_column("1e100"), func.printf(_sql_text("%!.17g"), column)),
        (size <= literal_column(_LARGEST), cast(column, Text)),
        (column.is_(None), _sql_text('"NaN"')),
        (column > literal_column("0"), _sql_text('"Infinity"')),
        else_=_sql_text('"-Infinity"'),
    )


def _sqlite_summaries(where: Any) -> ColumnElement[Any]:
    """A run's metric summaries, {"key": {...}, ...}, spelled as text: no JSON function
    formats (and so rounds) their numbers. A summary whose numbers are all finite and
    below 1e100 (nearly all) is one printf call; any other is put together piece by piece."""
    s = metric_summaries
    key = func.json_quote(s.c.key)
    usual = func.printf(
        _sql_text(
            '%s:{"latest":%!.17g,"latest_step":%lld,"latest_timestamp":%lld,'
            '"min":%!.17g,"max":%!.17g,"count":%lld,"key":%s}'
        ),
        key,
        s.c.latest,
        s.c.latest_step,
        s.c.latest_timestamp,
        s.c.min,
        s.c.max,
        s.c["count"],
        key,
    )
    fields: list[Any] = [key, _sql_text(':{"latest":'), _sqlite_number(s.c.latest)]
    for name in _SUMMARY_FIELDS:
        fields += [_sql_text(f',"{name}":'), s.c[name]]
    fields += [_sql_text(',"min":'), _sqlite_number(s.c.min)]
    fields += [_sql_text(',"max":'), _sqlite_number(s.c.max)]
    fields += [_sql_text(',"key":'), key, _sql_text("}")]
    small: ColumnElement[Any] = literal_column("1e100")
    plain = (
        (func.abs(s.c.latest) < small) & (func.abs(s.c.min) < small) & (func.abs(s.c.max) < small)
    )
    entry = case((plain, usual), else_=_splice(*fields))
    listed = func.group_concat(entry, _sql_text(","))
    inner = select(func.coalesce(listed, _sql_text(""))).where(where).scalar_subquery()
    return _splice(_sql_text("{"), inner, _sql_text("}"))


def _sqlite_group(key: Any, value: Any, where: Any) -> ColumnElement[Any]:
    # an aggregate over no rows is '{}', so a run without params still gets an object
    return select(func.json_group_object(key, value)).where(where).scalar_subquery()


def _sqlite(runs: Table) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    s = metric_summaries
    dirty = case(
        (runs.c.git_dirty == literal_column("1"), _sql_text("true")),
        (runs.c.git_dirty == literal_column("0"), _sql_text("false")),
    )
    source = _sqlite_object(
        [
            ("git_commit", runs.c.git_commit),
            ("git_dirty", func.json(dirty)),
            ("command", runs.c.command),
            ("python_version", runs.c.python_version),
        ]
    )
    scalars = _sqlite_object(
        [*[(name, runs.c[name]) for name in _RUN_FIELDS], ("parent_run_id", runs.c.parent_run_id)]
    )
    # '{"a":..,' + the rest of an object without its '{': no lengths to count
    whole_source = _splice(
        _sql_text('{"packages":'),
        func.coalesce(runs.c.packages, _sql_text("{}")),
        _sql_text(","),
        func.substr(source, _SECOND),
    )
    rest = _splice(
        _sql_text('"params":'),
        _sqlite_group(params.c.key, params.c.value, params.c.run_id == runs.c.run_id),
        _sql_text(',"tags":'),
        _sqlite_group(tags.c.key, tags.c.value, tags.c.run_id == runs.c.run_id),
        _sql_text(',"metrics":'),
        _sqlite_summaries(s.c.run_id == runs.c.run_id),
        _sql_text(","),
        func.substr(scalars, _SECOND),
    )
    return whole_source, rest


# --- PostgreSQL -------------------------------------------------------------------------
def _pg_number(column: KeyedColumnElement[Any]) -> ColumnElement[Any]:
    # NaN is stored as NULL; to_json writes the infinities as strings already
    return func.coalesce(func.to_json(column), cast(literal('"NaN"'), JSON))


def _pg_object(pairs: list[tuple[str, Any]]) -> ColumnElement[Any]:
    args: list[Any] = []
    for key, value in pairs:
        args += [literal(key), value]
    return func.json_build_object(*args)


def _pg_group(key: Any, value: Any, where: Any) -> ColumnElement[Any]:
    agg = func.coalesce(func.json_object_agg(key, value), cast(literal("{}"), JSON))
    return select(agg).where(where).scalar_subquery()


def _postgres(runs: Table) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    s = metric_summaries
    summary = _pg_object(
        [
            ("key", s.c.key),
            ("latest", _pg_number(s.c.latest)),
            ("latest_step", s.c.latest_step),
            ("latest_timestamp", s.c.latest_timestamp),
            ("min", _pg_number(s.c.min)),
            ("max", _pg_number(s.c.max)),
            ("count", s.c.count),
        ]
    )
    source = _pg_object(
        [
            ("git_commit", runs.c.git_commit),
            ("git_dirty", runs.c.git_dirty),
            ("command", runs.c.command),
            ("python_version", runs.c.python_version),
            ("packages", cast(func.coalesce(runs.c.packages, "{}"), JSON)),
        ]
    )
    rest = _pg_object(
        [
            *[(name, runs.c[name]) for name in _RUN_FIELDS],
            ("parent_run_id", runs.c.parent_run_id),
            ("params", _pg_group(params.c.key, params.c.value, params.c.run_id == runs.c.run_id)),
            ("tags", _pg_group(tags.c.key, tags.c.value, tags.c.run_id == runs.c.run_id)),
            ("metrics", _pg_group(s.c.key, summary, s.c.run_id == runs.c.run_id)),
        ]
    )
    return cast(source, Text), func.substr(cast(rest, Text), _SECOND)
