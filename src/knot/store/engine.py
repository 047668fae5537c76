"""Open a SQLAlchemy engine for a store URI, tuned for safe concurrent use.

SQLite runs in WAL mode with a busy timeout and synchronous=FULL (a commit that
returns is on disk), and every write transaction starts with BEGIN IMMEDIATE so
concurrent writers queue on the busy timeout instead of failing with
"database is locked" on a lock upgrade.

A write transaction opened with LAZY_WRITE commits without waiting for the disk: on
SQLite it runs under synchronous=NORMAL (in WAL mode a commit still survives the
process being killed; only an OS crash or power loss can lose it) and checkpoints
later (LAZY_CHECKPOINT_PAGES), and the connection is set back to FULL and the default
checkpoint when it returns to the pool, so the next user gets the defaults.
The next durable commit on the database flushes the lazy ones before it (the WAL is
one ordered file). PostgreSQL's equivalent, `SET LOCAL synchronous_commit = off`, is
issued by Database.write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knot.errors import Invalid, Unavailable

__all__ = ["LAZY_WRITE", "WRITE", "open_engine", "sqlite_path"]

#: execution option that makes a SQLite transaction take the write lock up front
WRITE = {"knot_write": True}
#: WRITE, committed without waiting for the disk flush (see the module's docstring)
LAZY_WRITE = {"knot_write": True, "knot_lazy_commit": True}
_LAZY = "knot_lazy_commit"  # set in a pooled connection's info while it is NORMAL
#: SQLite's default: the commit that takes the WAL past this many pages copies them
#: back into the database file (a checkpoint, which waits for the disk twice)
CHECKPOINT_PAGES = 1000
#: ... and in a lazy transaction: a burst of them (a pipeline's steps) leaves the copy
#: to the next durable commit (the execution's end), which then copies each of the
#: pages they rewrote over and over (index edges, the audit head) once, not every few
#: dozen steps
LAZY_CHECKPOINT_PAGES = 10_000
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
        cursor.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(_LAZY, False):
            # Before BEGIN: SQLite refuses to change the safety level in a transaction.
            # On the driver directly: it takes no lock, so it has no error to translate.
            pooled = conn.connection
            pooled.dbapi_connection.execute("PRAGMA synchronous = NORMAL")
            pooled.dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {LAZY_CHECKPOINT_PAGES}")
            pooled.info[_LAZY] = True
        begin = "BEGIN IMMEDIATE" if options.get("knot_write", False) else "BEGIN"
        # On the driver directly (Connection.exec_driver_sql costs some 25 us, a tenth of
        # a pipeline step's record), with the error SQLAlchemy would have raised.
        try:
            conn.connection.dbapi_connection.execute(begin)
        except sqlite3.OperationalError as exc:  # "database is locked" past the timeout
            raise sa_exc.OperationalError(begin, None, exc) from exc

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        # after the pool's own rollback, so no transaction is open here
        if record.info.pop(_LAZY, False) and dbapi_conn is not None:
            dbapi_conn.execute("PRAGMA synchronous = FULL")
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
