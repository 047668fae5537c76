"""Bulk-load the web UI bench's data (bench/_ui_data.py) into Knot and into MLflow.

Knot: batched inserts into its own tables after SqlTrackingStore migrated the schema.
MLflow: its schema is created by MLflow itself (its SqlAlchemyStore, run in the bench
virtualenv, which migrates a new SQLite file to head and creates the experiment), then
the same rows go into MLflow's own tables (runs, tags, params, latest_metrics, metrics)
with sqlite3's executemany. Each run's 20 metrics are stored as their latest value
(Knot's metric_summaries, MLflow's latest_metrics: what a runs table reads); the points
tables hold the compared runs' loss curves only, in both."""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import insert

from _ui_data import BenchData
from knot.tracking.sql_store import SqlTrackingStore
from knot.tracking.tables import experiments, metric_summaries, metrics, params, runs

__all__ = ["load_knot", "load_mlflow"]


def load_knot(uri: str, data: BenchData) -> str:
    """The experiment id in Knot's store at `uri`."""
    store = SqlTrackingStore(uri)  # creates (migrates) the schema
    db = store.db
    experiment_id = uuid.uuid4().hex
    with db.write() as conn:
        row = {"experiment_id": experiment_id, "name": "bench", "created_at": data.start}
        conn.execute(insert(experiments), [row])
    for chunk in data.chunks():
        run_rows, param_rows, summary_rows = [], [], []
        for run in chunk:
            run_rows.append(
                {
                    "run_id": run.run_id,
                    "experiment_id": experiment_id,
                    "name": run.name,
                    "status": "FINISHED",
                    "start_time": run.start_time,
                    "end_time": run.start_time + 900,
                    "user": "bench",
                }
            )
            param_rows += [
                {"run_id": run.run_id, "key": k, "value": v} for k, v in run.params.items()
            ]
            summary_rows += [
                {
                    "run_id": run.run_id,
                    "key": k,
                    "latest": v,
                    "latest_step": 0,
                    "latest_timestamp": run.start_time,
                    "min": v,
                    "max": v,
                    "count": 1,
                }
                for k, v in run.metrics.items()
            ]
        with db.write() as conn:
            conn.execute(insert(runs), run_rows)
            conn.execute(insert(params), param_rows)
            conn.execute(insert(metric_summaries), summary_rows)
    with db.write() as conn:
        for run_id in data.compared():
            curve = data.loss_curve(run_id)
            conn.execute(
                insert(metrics),
                [
                    {"run_id": run_id, "key": "loss", "step": s, "timestamp": t, "value": v}
                    for s, t, v in curve
                ],
            )
            values = [v for _, _, v in curve]
            last = curve[-1]
            summary = {"run_id": run_id, "key": "loss", "latest": last[2], "latest_step": last[0]}
            summary |= {"latest_timestamp": last[1], "count": len(curve)}
            summary |= {"min": min(values), "max": max(values)}
            conn.execute(insert(metric_summaries), [summary])
    if db.dialect == "postgresql":
        # the planner's statistics, as autovacuum gathers them within a minute of a bulk
        # load; timed right after loading, PostgreSQL would still plan for empty tables
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    store.close()
    return experiment_id


_MLFLOW_SCHEMA = """
import sys
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
store = SqlAlchemyStore(sys.argv[1], sys.argv[2])
print(store.create_experiment("bench"))
"""


def load_mlflow(db_path: Path, artifacts: Path, data: BenchData, python: Path) -> str:
    """The experiment id in a new MLflow SQLite store at `db_path`; `python` is an
    interpreter with the full mlflow package."""
    done = subprocess.run(
        [str(python), "-c", _MLFLOW_SCHEMA, f"sqlite:///{db_path}", str(artifacts)],
        capture_output=True,
        text=True,
        check=True,
    )
    experiment_id = done.stdout.strip().splitlines()[-1]
    conn = sqlite3.connect(db_path)
    with conn:
        for chunk in data.chunks():
            conn.executemany(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
                " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
                " artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', '', '', 'bench',"
                " 'FINISHED', ?, ?, '', 'active', ?, ?)",
                [
                    (
                        r.run_id,
                        r.name,
                        r.start_time,
                        r.start_time + 900,
                        f"{artifacts}/{experiment_id}/{r.run_id}/artifacts",
                        int(experiment_id),
                    )
                    for r in chunk
                ],
            )
            conn.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, r.run_id) for r in chunk for k, v in _tags(r.name).items()],
            )
            conn.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, r.run_id) for r in chunk for k, v in r.params.items()],
            )
            conn.executemany(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
                " VALUES (?, ?, ?, 0, 0, ?)",
                [(k, v, r.start_time, r.run_id) for r in chunk for k, v in r.metrics.items()],
            )
        for run_id in data.compared():
            curve = data.loss_curve(run_id)
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
                " VALUES ('loss', ?, ?, ?, ?, 0)",
                [(v, t, run_id, s) for s, t, v in curve],
            )
            s, t, v = curve[-1]
            conn.execute(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
                " VALUES ('loss', ?, ?, ?, 0, ?)",
                (v, t, s, run_id),
            )
    conn.close()
    return experiment_id


def _tags(name: str) -> dict[str, str]:
    # what MLflow's client sets on every run it starts
    return {"mlflow.runName": name, "mlflow.user": "bench", "mlflow.source.type": "LOCAL"}
