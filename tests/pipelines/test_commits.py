"""How durable each commit of an execution is: a step's record commits without waiting
for the disk (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off), the
execution's end waits for it (FULL / on) and so flushes every step before it, and the
pooled connection is back at the default for whoever uses it next.

The setting is read from inside each transaction, on its own connection, right after
the statement that writes the step's row or the execution's end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

import knot
from knot.tracking.fluent import session
from tests.backends import StoreBackend


@knot.step
def add_one(x: int) -> int:
    return x + 1


@knot.pipeline(name="commits_chain")
def chain(start: int) -> Any:
    return add_one(add_one(add_one(start)))


def _setting(dbapi_conn: Any, dialect: str) -> str:
    cursor = dbapi_conn.cursor()
    try:
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous")
            return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])
    finally:
        cursor.close()


def _watch(engine: Engine, seen: list[tuple[str, str]]) -> Any:
    dialect = engine.dialect.name

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split())
        for prefix, what in (
            ("UPDATE pipeline_steps", "step"),
            ("UPDATE pipeline_executions", "end"),
        ):
            if text.startswith(prefix):
                seen.append((what, _setting(conn.connection.dbapi_connection, dialect)))

    event.listen(engine, "after_cursor_execute", after)
    return after


@pytest.mark.parametrize("shape", ["cold", "cached"])
def test_steps_commit_lazily_and_the_end_durably(
    sql_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    sql_backend.use(monkeypatch)
    if shape == "cached":
        assert chain(1).output == 4
    engine = session().store.db.engine
    lazy, durable = ("NORMAL", "FULL") if engine.dialect.name == "sqlite" else ("off", "on")
    seen: list[tuple[str, str]] = []
    listener = _watch(engine, seen)
    try:
        result = chain(1)
    finally:
        event.remove(engine, "after_cursor_execute", listener)
    assert result.output == 4
    expected = "cached" if shape == "cached" else "ran"
    assert [s.status for s in result.steps] == [expected] * 3
    assert seen == [("step", lazy)] * 3 + [("end", durable)]
    # the pooled connection the steps used is back at the default
    with engine.connect() as conn:
        assert _setting(conn.connection.dbapi_connection, engine.dialect.name) == durable
        with conn.begin():
            assert _setting(conn.connection.dbapi_connection, engine.dialect.name) == durable
    assert knot.get_pipeline_run(result.run_id).status == "finished"
