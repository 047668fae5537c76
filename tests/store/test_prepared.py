"""knot.store.prepared: a prebuilt statement gives what Connection.execute gives, on
SQLite (where it runs on the driver's cursor) and PostgreSQL (where it does not)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError

from knot.store.database import Database
from knot.store.prepared import Prepared, run_driver_sql
from knot.tracking.tables import experiments, runs
from tests.backends import StoreBackend

_RUN = {
    "experiment_id": "e1",
    "name": "r",
    "status": "RUNNING",
    "start_time": 1,
    "end_time": None,
    "user": "tester",
    "parent_run_id": None,
    "git_commit": None,
    "command": None,
    "python_version": "3",
    "packages": "{}",
}
_INSERT = Prepared(runs.insert())
_DIRTY = Prepared(
    select(runs.c.run_id, runs.c.git_dirty)
    .where(runs.c.experiment_id == bindparam("exp"))
    .order_by(runs.c.run_id)
)
_BY_DIRTY = Prepared(select(runs.c.run_id).where(runs.c.git_dirty == bindparam("dirty")))
_FINISH = Prepared(
    runs.update().where(runs.c.status == bindparam("old")).values(status=bindparam("new"))
)


@pytest.fixture
def db(sql_backend: StoreBackend) -> Iterator[Database]:
    database = Database(sql_backend.db_uri)
    with database.write() as conn:
        conn.execute(
            experiments.insert(),
            {"experiment_id": "e1", "name": "e", "description": None, "created_at": 1},
        )
    yield database
    database.close()


def test_rows_written_and_read_as_connection_execute_would(db: Database) -> None:
    with db.write() as conn:
        _INSERT.run(conn, {**_RUN, "run_id": "a" * 32, "git_dirty": True})
        _INSERT.run(
            conn,
            [
                {**_RUN, "run_id": "b" * 32, "git_dirty": False},
                {**_RUN, "run_id": "c" * 32, "git_dirty": None},
            ],
        )
        assert _FINISH.run(conn, {"old": "RUNNING", "new": "FINISHED"}) == 3
        assert _FINISH.run(conn, {"old": "RUNNING", "new": "FAILED"}) == 0
    with db.read() as conn:
        found = _DIRTY.all(conn, {"exp": "e1"})
        expected = [tuple(r) for r in conn.execute(_DIRTY.statement, {"exp": "e1"})]
        assert _DIRTY.first(conn, {"exp": "nope"}) is None
        # one bound value, through its column's processor
        assert _BY_DIRTY.all(conn, {"dirty": True}) == [("a" * 32,)]
        assert _BY_DIRTY.all(conn, {"dirty": False}) == [("b" * 32,)]
    # the Boolean column's bind processor applied: stored as the dialect stores booleans
    assert [(r, bool(d) if d is not None else None) for r, d in found] == [
        ("a" * 32, True),
        ("b" * 32, False),
        ("c" * 32, None),
    ]
    assert found == expected


def test_a_missing_parameter_is_refused_and_nothing_is_written(db: Database) -> None:
    with pytest.raises(KeyError, match="git_dirty"), db.write() as conn:
        _INSERT.run(conn, {**_RUN, "run_id": "d" * 32})
    with db.read() as conn:
        assert _DIRTY.all(conn, {"exp": "e1"}) == []


def test_an_expanding_parameter_is_refused_on_sqlite(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/knot.db")
    expanding = Prepared(select(runs.c.run_id).where(runs.c.run_id.in_(bindparam("ids"))))
    try:
        with database.read() as conn, pytest.raises(TypeError, match="expanding"):
            expanding.all(conn, {"ids": ["x"]})
    finally:
        database.close()


def test_a_driver_error_is_raised_as_connection_execute_raises_it(db: Database) -> None:
    """Callers catch SQLAlchemy's IntegrityError (a name taken, an execution recorded
    twice): a prepared statement, or SQL text run on the driver, raises that one too,
    and the transaction writes nothing."""
    with db.write() as conn:
        _INSERT.run(conn, {**_RUN, "run_id": "e" * 32, "git_dirty": None})
    twice = [
        {**_RUN, "run_id": "f" * 32, "git_dirty": None},
        {**_RUN, "run_id": "e" * 32, "git_dirty": None},
    ]
    with pytest.raises(IntegrityError), db.write() as conn:
        _INSERT.run(conn, twice)
    text = "INSERT INTO experiments (experiment_id, name, created_at) VALUES (?, ?, ?)"
    if db.dialect == "postgresql":
        text = text.replace("?", "%s")
    with pytest.raises(IntegrityError), db.write() as conn:
        run_driver_sql(conn, text, [("e2", "other", 1), ("e3", "e", 1)])  # "e" is taken
    if db.dialect == "sqlite":  # an unknown function: SQLite's OperationalError, wrapped
        with pytest.raises(OperationalError, match="nope"), db.write() as conn:
            run_driver_sql(conn, "INSERT INTO experiments VALUES (nope(?), 'x', NULL, 1)", [(1,)])
    with db.read() as conn:
        assert [r[0] for r in _DIRTY.all(conn, {"exp": "e1"})] == ["e" * 32]
        names = conn.execute(select(experiments.c.name)).scalars().all()
    assert names == ["e"]
