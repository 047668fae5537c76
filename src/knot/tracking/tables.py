"""The tracking area's tables (migrations 0001, 0011 and 0013), on the shared metadata of
knot.store.schema.

Times are integer milliseconds since the epoch (UTC), ids are 32-char hex strings.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from knot.store.schema import metadata

__all__ = [
    "artifacts",
    "experiments",
    "metric_summaries",
    "metrics",
    "params",
    "runs",
    "tags",
    "writer_marks",
]

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", String(32), primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("experiment_id", String(32), ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("user", String(256), nullable=False),
    Column("parent_run_id", String(32), nullable=True),
    Column("git_commit", String(64), nullable=True),
    Column("git_dirty", Boolean, nullable=True),
    Column("command", Text, nullable=True),
    Column("python_version", String(32), nullable=True),
    Column("packages", Text, nullable=True),
    Index("ix_runs_parent", "parent_run_id"),
)
# Migration 0013: exactly the order search pages runs in (newest first, then run_id), of
# one experiment and of all, so a database reads a page off an index and stops instead of
# sorting every run.
Index("ix_runs_experiment_time_id", runs.c.experiment_id, runs.c.start_time.desc(), runs.c.run_id)
Index("ix_runs_time_id", runs.c.start_time.desc(), runs.c.run_id)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# Append-only metric points. No primary key: rows are never updated, and a key
# would only slow the hot insert path. NaN is stored as NULL (SQLite has no NaN).
metrics = Table(
    "metrics",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# One row per (run, key), updated in the same transaction as the points, so
# listings, search and compare never read the points table.
metric_summaries = Table(
    "metric_summaries",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("latest", Float, nullable=True),
    Column("latest_step", BigInteger, nullable=False),
    Column("latest_timestamp", BigInteger, nullable=False),
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("count", BigInteger, nullable=False),
    Index("ix_metric_summaries_key_latest", "key", "latest"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)


# Added by migration 0011: one row per SDK writer (one per process and store): the
# highest batch number it has had written. It grows with the number of processes that
# logged, not with batches.
writer_marks = Table(
    "writer_marks",
    metadata,
    Column("writer_id", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
