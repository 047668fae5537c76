"""Prebuilt Core statements that SQLite runs on the driver's cursor directly.

On the per-step path of a pipeline (a dozen statements per step), SQLAlchemy's
execution machinery (cache key, compiled-cache lookup, parameter processing, events,
result set-up) costs some 25 us per statement, twenty times what SQLite takes to run
it. A Prepared statement is compiled once per dialect; on SQLite it binds positional
parameters straight onto the sqlite3 cursor of the caller's connection, inside the
caller's transaction. Other dialects go through Connection.execute unchanged: their
network round trip dwarfs the overhead.

Every bound name must be given (no column defaults are filled in); the column types'
bind processors still apply. Statements with expanding IN lists are not supported.
A driver error comes out as SQLAlchemy's wrapper of it (IntegrityError, OperationalError),
as Connection.execute raises it, so callers catch the same exceptions on every path.
`run_driver_sql` is the same shortcut for SQL text (Connection.exec_driver_sql).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

__all__ = ["Prepared", "run_driver_sql"]

Params = Mapping[str, Any]
Binder = Callable[[Params], Sequence[Any]]


class Prepared:
    """`statement`, run by `run` or `first` in the caller's transaction."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sqlite: tuple[str, Binder] | None = None
        self._names: frozenset[str] | None = None

    def _checked(self, conn: Connection, params: Params | Sequence[Params]) -> Any:
        # Other dialects: the same contract as SQLite's path, so a statement that works
        # on one works on the other (Core would fill a missing column with its default).
        if self._names is None:
            self._names = frozenset(self.statement.compile(dialect=conn.dialect).params)  # type: ignore[attr-defined]
        for one in [params] if isinstance(params, Mapping) else params:
            missing = sorted(self._names - one.keys())
            if missing:
                raise KeyError(missing[0])
        return params

    def _compiled(self, dialect: Dialect) -> tuple[str, Binder]:
        if self._sqlite is None:
            compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            if compiled.post_compile_params or compiled.literal_execute_params:
                raise TypeError(f"{compiled.string!r} has expanding parameters")
            processors = compiled._bind_processors
            names = list(compiled.positiontup or ())
            self._sqlite = (compiled.string, _binder(names, processors))
        return self._sqlite

    def run(self, conn: Connection, params: Params | Sequence[Params] = ()) -> int:
        """Execute with one parameter set (or many, a list of them); the rows changed."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.statement, self._checked(conn, params)).rowcount)
        sql, bind = self._compiled(conn.dialect)
        with _cursor(conn, sql) as cursor:
            if isinstance(params, Mapping):
                cursor.execute(sql, bind(params))
            else:
                cursor.executemany(sql, [bind(p) for p in params])
            return int(cursor.rowcount)

    def first(self, conn: Connection, params: Params | None = None) -> tuple[Any, ...] | None:
        """The first row of a query, as a tuple in its column order; None when empty."""
        rows = self._query(conn, params, one=True)
        return rows[0] if rows else None

    def all(self, conn: Connection, params: Params | None = None) -> list[tuple[Any, ...]]:
        """The rows of a query, as tuples in its column order."""
        return self._query(conn, params, one=False)

    def _query(self, conn: Connection, params: Params | None, one: bool) -> list[tuple[Any, ...]]:
        if conn.dialect.name != "sqlite":
            result = conn.execute(self.statement, self._checked(conn, params or {}))
            rows = [result.first()] if one else list(result)
            return [tuple(r) for r in rows if r is not None]
        sql, bind = self._compiled(conn.dialect)
        with _cursor(conn, sql) as cursor:
            cursor.execute(sql, bind(params or {}))
            found = [cursor.fetchone()] if one else cursor.fetchall()
        return [tuple(r) for r in found if r is not None]


def run_driver_sql(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Connection.exec_driver_sql(sql, rows) (executemany, positional parameters), on
    SQLite without SQLAlchemy's execution machinery: the metric points of every batch."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(sql, list(rows))
        return
    with _cursor(conn, sql) as cursor:
        cursor.executemany(sql, rows)


@contextmanager
def _cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A cursor on the SQLite connection under `conn`, in its transaction; a driver error
    is raised as SQLAlchemy wraps it (IntegrityError, OperationalError, ...)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


def _binder(names: list[str], processors: Mapping[str, Any]) -> Binder:
    """params -> the positional values, in the statement's order, each through its column
    type's bind processor if it has one. Binding is most of a prepared statement's cost
    in Python (a step writes hundreds of rows), so it is one C-level itemgetter call."""
    if not names:
        return lambda params: ()
    getter = itemgetter(*names)
    single = len(names) == 1
    process = [(i, processors[n]) for i, n in enumerate(names) if processors.get(n) is not None]
    if not process:
        return (lambda params: (getter(params),)) if single else getter

    def bind(params: Params) -> Sequence[Any]:
        values = [getter(params)] if single else list(getter(params))
        for i, convert in process:
            values[i] = convert(values[i])
        return values

    return bind
