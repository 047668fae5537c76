"""Migration 0013 on a store that has data: runs keep their search order on the new
index, and a retrain row written before it keeps its kind while longer kinds now fit."""

from __future__ import annotations

from sqlalchemy import inspect, text

from knot.backends import open_tracking_store
from knot.store.engine import open_engine
from knot.store.schema import HEAD, upgrade
from tests.backends import StoreBackend

LONG_KIND = "alert+dataset+manual+schedule"


def test_a_0012_store_is_migrated_with_its_runs_and_retrains(sql_backend: StoreBackend) -> None:
    uri = sql_backend.uri
    engine = open_engine(uri)
    upgrade(engine, uri, "0012")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO experiments VALUES ('e1', 'legacy', NULL, 1)"))
        for i, start in enumerate((30, 10, 20, 20)):
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, experiment_id, name, status, start_time, "
                    "\"user\") VALUES (:id, 'e1', :name, 'FINISHED', :start, 'u')"
                ),
                {"id": f"{i:032x}", "name": f"r{i}", "start": start},
            )
        conn.execute(
            text(
                'INSERT INTO loop_retrains (retrain_id, model, trigger_kind, "trigger", '
                "status, started_at, owner) VALUES ('r1', 'churn', 'manual', '[]', "
                "'running', 1, 'me')"
            )
        )
    upgrade(engine, uri, "head")
    indexes = {i["name"] for i in inspect(engine).get_indexes("runs")}
    assert {"ix_runs_experiment_time_id", "ix_runs_time_id"} <= indexes
    assert "ix_runs_experiment_start" not in indexes
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        conn.execute(
            text(
                'INSERT INTO loop_retrains (retrain_id, model, trigger_kind, "trigger", '
                "status, started_at, owner) VALUES ('r2', 'churn', :kind, '[]', 'running', "
                "2, 'me')"
            ),
            {"kind": LONG_KIND},
        )
        kinds = conn.execute(
            text("SELECT trigger_kind FROM loop_retrains ORDER BY started_at")
        ).scalars()
        assert list(kinds) == ["manual", LONG_KIND]
    engine.dispose()
    store = open_tracking_store(uri)
    found = store.search_runs(["e1"]).runs
    store.close()
    # newest first, equal start times by run_id
    assert [r.name for r in found] == ["r0", "r2", "r3", "r1"]
