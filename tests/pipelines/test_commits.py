"""How durable each commit of an execution is: its start and each step's record commit
(a step that ran as it finishes, cache hits together before the next write)
without waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off), the
execution's end waits for it (FULL / on) and so flushes every step before it, and the
pooled connection is back at the default for whoever uses it next.

The setting is read inside each transaction just before it commits, with what the
transaction changed: an execution started, one more step recorded, or the execution
ended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

import knot
from knot.store.engine import CHECKPOINT_PAGES, LAZY_CHECKPOINT_PAGES
from knot.tracking.fluent import session
from tests.backends import StoreBackend


@knot.step
def add_one(x: int) -> int:
    return x + 1


@knot.pipeline(name="commits_chain")
def chain(start: int) -> Any:
    return add_one(add_one(add_one(start)))


def _query(dbapi_conn: Any, sql: str) -> Any:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def _setting(dbapi_conn: Any, dialect: str) -> str:
    if dialect == "sqlite":
        level = _query(dbapi_conn, "PRAGMA synchronous")
        pages = _query(dbapi_conn, "PRAGMA wal_autocheckpoint")
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level] + f", {pages}"
    return str(_query(dbapi_conn, "SHOW synchronous_commit"))


def _watch(engine: Engine, seen: list[tuple[str, str, int]]) -> Any:
    """Just before each commit, inside its transaction: what it changed (how many more
    steps done, or one more execution ended) and the setting it commits with."""
    dialect = engine.dialect.name
    counts = {
        "start": "SELECT count(*) FROM pipeline_executions",
        "step": "SELECT count(*) FROM pipeline_steps WHERE status <> 'pending'",
        "end": "SELECT count(*) FROM pipeline_executions WHERE status <> 'running'",
    }
    with engine.connect() as conn:
        dbapi_conn = conn.connection.dbapi_connection
        before = {what: _query(dbapi_conn, sql) for what, sql in counts.items()}

    def on_commit(conn: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        now = {what: _query(dbapi_conn, sql) for what, sql in counts.items()}
        setting = _setting(dbapi_conn, dialect)
        seen.extend(
            (what, setting, now[what] - before[what]) for what in counts if now[what] > before[what]
        )
        before.update(now)

    event.listen(engine, "commit", on_commit)
    return on_commit


@pytest.mark.parametrize("shape", ["cold", "cached"])
def test_steps_commit_lazily_and_the_end_durably(
    sql_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    sql_backend.use(monkeypatch)
    if shape == "cached":
        assert chain(1).output == 4
    engine = session().store.db.engine
    lazy, durable = ("off", "on")
    if engine.dialect.name == "sqlite":  # and the checkpoint is left to the durable end
        lazy, durable = (f"NORMAL, {LAZY_CHECKPOINT_PAGES}", f"FULL, {CHECKPOINT_PAGES}")
    seen: list[tuple[str, str, int]] = []
    listener = _watch(engine, seen)
    try:
        result = chain(1)
    finally:
        event.remove(engine, "commit", listener)
    assert result.output == 4
    expected = "cached" if shape == "cached" else "ran"
    assert [s.status for s in result.steps] == [expected] * 3
    # a step that ran commits as it finishes; cache hits, with no code run between
    # them, commit together
    steps = [("step", lazy, 1)] * 3 if shape == "cold" else [("step", lazy, 3)]
    assert seen == [("start", lazy, 1), *steps, ("end", durable, 1)]
    # the pooled connection the steps used is back at the default
    with engine.connect() as conn:
        assert _setting(conn.connection.dbapi_connection, engine.dialect.name) == durable
        with conn.begin():
            assert _setting(conn.connection.dbapi_connection, engine.dialect.name) == durable
    assert knot.get_pipeline_run(result.run_id).status == "finished"
