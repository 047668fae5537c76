"""Open a SQLAlchemy engine for a store URI, tuned for safe concurrent use.

SQLite runs in WAL mode with a busy timeout and synchronous=FULL (a commit that
returns is on disk), and every write transaction starts with BEGIN IMMEDIATE so
concurrent writers queue on the busy timeout instead of failing with
"database is locked" on a lock upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knot.errors import Invalid, Unavailable

__all__ = ["WRITE", "open_engine", "sqlite_path"]

#: execution option that makes a SQLite transaction take the write lock up front
WRITE = {"knot_write": True}
BUSY_TIMEOUT_MS = 60_000


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite:/// URI, or None for other URIs."""
    if not uri.startswith("sqlite:"):
        return None
    database = make_url(uri).database
    if not database or database == ":memory:":
        raise Invalid(f"store URI {uri!r} has no file; use sqlite:////absolute/path/knot.db")
    return Path(database)


def open_engine(uri: str) -> Engine:
    """Create an engine for sqlite:/// or postgresql:// URIs with Knot's settings."""
    try:
        url = make_url(uri)
    except ArgumentError as exc:
        raise Invalid(
            f"store URI {uri!r} is malformed; use sqlite:///path/knot.db, "
            "postgresql://user@host:port/db or http://host:port"
        ) from exc
    if url.drivername.startswith("sqlite"):
        path = sqlite_path(uri)
        assert path is not None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unavailable(
                f"cannot create the folder {str(path.parent)!r} for store {uri!r} "
                f"({exc.strerror}); point KNOT_STORE or KNOT_HOME at a writable folder"
            ) from exc
        engine = create_engine(
            url.set(drivername="sqlite+pysqlite"),
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _tune_sqlite(engine)
        return engine
    if url.drivername in ("postgresql", "postgresql+psycopg", "postgres"):
        return create_engine(
            url.set(drivername="postgresql+psycopg"), pool_pre_ping=True, pool_size=4
        )
    raise Invalid(
        f"store URI scheme {url.drivername!r} is not supported; use sqlite:///path/knot.db, "
        "postgresql://user@host:port/db or http://host:port"
    )


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("knot_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
