"""Search reads a page off the indexes migration 0013 builds, in their order, on
PostgreSQL: a page of one experiment and a page of all runs need no sort of the runs,
however many there are. And the setting that keeps PostgreSQL from starting parallel
workers for a page stays with the search's own transaction, never with the pooled
connection the next caller gets. On SQLite, the page's runs are rendered by primary-key
lookups only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from knot.backends import open_tracking_store
from knot.tracking.entities import Batch
from knot.tracking.sql_store import SqlTrackingStore
from tests.backends import SQL, StoreBackend

POSTGRES = pytest.mark.parametrize("sql_backend", [SQL[1]], indirect=True)


def page_plan(store: SqlTrackingStore, experiment_ids: list[str] | None) -> str:
    """PostgreSQL's plan for the statement that picks a filtered page's run ids, with
    reading a table whole and sorting forbidden: a three-run table is read whole by any
    planner, so only this shows whether an index alone gives the order search asks for."""
    executed: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        executed.append((statement, parameters))

    event.listen(store.db.engine, "before_cursor_execute", seen)
    page = store.search_runs(experiment_ids, filter="params.model = 'lgbm'", max_results=2)
    event.remove(store.db.engine, "before_cursor_execute", seen)
    assert len(page.runs) == 2 and page.next_page_token is not None
    (statement, parameters), *_ = [(s, p) for s, p in executed if "ORDER BY" in s]
    with store.db.read() as conn:
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
            conn.exec_driver_sql(f"SET LOCAL {setting} = off")
        found = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in found)


@POSTGRES
def test_a_filtered_page_is_read_off_an_index_in_order(sql_backend: StoreBackend) -> None:
    store = open_tracking_store(sql_backend.uri)
    assert isinstance(store, SqlTrackingStore)
    exp = store.create_experiment("scale").experiment_id
    for i in range(3):  # two start at once: run_id breaks the tie
        run = store.create_run(exp, user="u", start_time=1000 + i // 2)
        store.log_batch(Batch(params=[(run.run_id, "model", "lgbm")]))
    for experiment_ids, index in (([exp], "ix_runs_experiment_time_id"), (None, "ix_runs_time_id")):
        plan = page_plan(store, experiment_ids)
        assert index in plan, plan
        assert "Sort" not in plan, plan
    with store.db.read() as conn:
        setting = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar()
    assert setting != "0"  # the server's default came back with the connection
    store.close()


SQLITE = pytest.mark.parametrize("sql_backend", [SQL[0]], indirect=True)


@SQLITE
def test_a_page_is_rendered_by_index_lookups_on_sqlite(sql_backend: StoreBackend) -> None:
    """The statement that renders a page's runs as JSON reads each run, its params, tags
    and metric summaries by primary key, never a whole table: its cost follows the page,
    not the store."""
    store = open_tracking_store(sql_backend.uri)
    assert isinstance(store, SqlTrackingStore)
    exp = store.create_experiment("plans").experiment_id
    for i in range(3):
        run = store.create_run(exp, user="u", tags={"t": str(i)}).run_id
        store.log_batch(Batch(params=[(run, "p", "1")], metrics=[(run, "m", 1.0, 0, 1)]))
    executed: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        executed.append((statement, parameters))

    event.listen(store.db.engine, "before_cursor_execute", seen)
    assert len(store.search_runs([exp]).runs) == 3
    event.remove(store.db.engine, "before_cursor_execute", seen)
    (statement, parameters), *_ = [(s, p) for s, p in executed if "json_each" in s]
    with store.db.read() as conn:
        plan = [
            row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        ]
    text_plan = "\n".join(plan)
    for table in ("runs", "params", "tags", "metric_summaries"):
        assert any(step.startswith(f"SEARCH {table} USING") for step in plan), text_plan
        assert not any(step.startswith(f"SCAN {table}") for step in plan), text_plan
    store.close()
