"""The retrain loop's tables (migration 0009; 0013 widened trigger_kind), on the shared
metadata of knot.store.schema.

`loop_state` holds one row per model: where its loop is (idle, training, evaluating,
canary, approval, promoting), the retraining in flight, and the lease (owner, expiry,
heartbeat) that a controller takes by compare-and-set before it does anything.
`loop_retrains` is the history, one row per retraining with its outcome and reason.
`loop_cursors` holds, per model and trigger, the last thing that trigger saw (a dataset
version, an alert event time, a cron fire time), so a restart never fires twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from knot.store.schema import metadata

__all__ = ["loop_cursors", "loop_retrains", "loop_state"]

loop_state = Table(
    "loop_state",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("retrain_id", String(32), nullable=True),
    Column("detail", Text, nullable=False),  # JSON: what the in-flight retraining has done
    Column("owner", String(256), nullable=True),
    Column("lease_expires_at", BigInteger, nullable=False),
    Column("heartbeat_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

loop_retrains = Table(
    "loop_retrains",
    metadata,
    Column("retrain_id", String(32), primary_key=True),
    Column("model", String(256), nullable=False),
    Column("trigger_kind", String(64), nullable=False),  # "alert+dataset+manual", ...
    Column("trigger", Text, nullable=False),  # JSON: what fired, e.g. the dataset version
    Column("status", String(16), nullable=False),
    Column("challenger_version", Integer, nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("reason", Text, nullable=True),
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Column("owner", String(256), nullable=False),
    Index("ix_loop_retrains_model", "model", "started_at"),
)

loop_cursors = Table(
    "loop_cursors",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("trigger", String(300), primary_key=True),  # e.g. dataset:churn, alerts, schedule
    Column("value", String(256), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
