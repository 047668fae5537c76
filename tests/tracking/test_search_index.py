"""Search reads a page of one experiment off the index migration 0013 builds, in its
order, on PostgreSQL: no sort of the experiment's runs, however many it holds. And the
setting that keeps PostgreSQL from starting parallel workers for a page stays with the
search's own transaction, never with the pooled connection the next caller gets."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from knot.backends import open_tracking_store
from knot.tracking.entities import Batch
from tests.backends import SQL, StoreBackend

POSTGRES = pytest.mark.parametrize("sql_backend", [SQL[1]], indirect=True)


@POSTGRES
def test_a_filtered_page_of_one_experiment_needs_no_sort(sql_backend: StoreBackend) -> None:
    store = open_tracking_store(sql_backend.uri)
    exp = store.create_experiment("scale").experiment_id
    for i in range(3):
        run = store.create_run(exp, user="u", start_time=1000 + i // 2)
        store.log_batch(Batch(params=[(run.run_id, "model", "lgbm")]))
    executed: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        executed.append((statement, parameters))

    event.listen(store.db.engine, "before_cursor_execute", seen)
    page = store.search_runs([exp], filter="params.model = 'lgbm'", max_results=2)
    event.remove(store.db.engine, "before_cursor_execute", seen)
    assert len(page.runs) == 2 and page.next_page_token is not None
    (statement, parameters), *_ = [(s, p) for s, p in executed if "ORDER BY" in s]
    with store.db.read() as conn:
        # a three-run table is read whole by any planner; forbid that, and sorting, to
        # see whether the index alone can give the page in the order search asks for
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_runs_experiment_time_id" in plan, plan
    assert "Sort" not in plan, plan
    with store.db.read() as conn:
        setting = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar()
    assert setting != "0"  # the server's default came back with the connection
    store.close()
