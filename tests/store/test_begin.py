"""A SQLite write transaction starts with BEGIN IMMEDIATE on the driver: when another
writer holds the lock past the busy timeout, the error is SQLAlchemy's OperationalError
(what callers catch), naming the statement, and nothing is written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from knot.store import engine
from knot.store.database import Database


def test_a_locked_store_raises_sqlalchemys_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "knot.db"
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 50)  # the lock below is never let go
    db = Database(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with (
            pytest.raises(OperationalError, match="database is locked") as locked,
            db.write() as conn,
        ):
            conn.execute(text("INSERT INTO experiments VALUES ('e1', 'x', NULL, 1)"))
        assert "BEGIN IMMEDIATE" in str(locked.value)
        holder.execute("ROLLBACK")
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM experiments")).scalar() == 0
        with db.write() as conn:  # the lock gone, the same pool writes again
            conn.execute(text("INSERT INTO experiments VALUES ('e1', 'x', NULL, 1)"))
    finally:
        holder.close()
        db.close()
