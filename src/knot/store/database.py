"""A metadata database: one engine, its schema brought up to date, and the two ways
every area's repository talks to it (`read()` and `write()`, one transaction each).

Each area (tracking, data, registry, ...) keeps its own small repository class on
top of a Database; none of them reaches into another's tables.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from knot.errors import Invalid, Unavailable
from knot.store.engine import LAZY_WRITE, WRITE, open_engine
from knot.store.schema import ensure_schema

__all__ = ["Database", "database_of", "now_ms"]


def now_ms() -> int:
    """Milliseconds since the epoch: the unit of every time column."""
    return int(time.time() * 1000)


class Database:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.engine: Engine = open_engine(uri)
        try:
            ensure_schema(self.engine, uri)
        except OperationalError as exc:
            self.engine.dispose()
            raise Unavailable(
                f"cannot open the metadata store {uri!r}: {exc.orig}; check KNOT_STORE "
                "and that the database server is running"
            ) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite): commit on exit, or roll back.

        durable=False commits without waiting for the disk flush: the commit survives the
        process being killed, and an OS crash can lose it (with every lazy commit after
        the last durable one, never one before). For records whose loss costs only redoing
        work, like a pipeline step's, until a durable commit (the execution's end) that
        flushes them all.
        """
        with self.engine.connect() as conn:
            conn = conn.execution_options(**(WRITE if durable else LAZY_WRITE))
            with conn.begin():
                if not durable and conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def database_of(store: object, uri: str, needs: str) -> Database:
    """The SQL Database behind an area's `store` (its `db`), opened from KNOT_STORE `uri`;
    Invalid when `uri` is a Knot server, whose stores keep no database here. `needs`
    starts the message: "pipelines need", "the retrain loop needs"."""
    db = getattr(store, "db", None)
    if not isinstance(db, Database):
        raise Invalid(
            f"{needs} a local or PostgreSQL metadata store, but KNOT_STORE is {uri!r} "
            "(a knot server); set KNOT_STORE to sqlite:///path/knot.db or "
            "postgresql://user@host/db",
            field="store",
        )
    return db
