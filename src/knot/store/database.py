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

from knot.errors import Unavailable
from knot.store.engine import WRITE, open_engine
from knot.store.schema import ensure_schema

__all__ = ["Database", "now_ms"]


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
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite): commit on exit, or roll back."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**WRITE)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
