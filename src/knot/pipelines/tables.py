"""The pipelines' tables (migrations 0008 and 0014), on the shared metadata of knot.store.schema.

pipeline_cache maps a step's cache key to the digest of the output it produced (and,
for a small output, its bytes: output_data, see knot.pipelines.values);
pipeline_executions and pipeline_steps record what each pipeline run did, step by
step, so `resume=` can reuse finished steps even with caching off.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from knot.store.schema import metadata

__all__ = ["pipeline_cache", "pipeline_executions", "pipeline_steps"]

pipeline_cache = Table(
    "pipeline_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("step", String(256), nullable=False),
    Column("output_digest", String(71), nullable=False),
    Column("output_kind", String(16), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("output_data", LargeBinary, nullable=True),  # an inline output's bytes
    Index("ix_pipeline_cache_step", "step"),
)

pipeline_executions = Table(
    "pipeline_executions",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("pipeline", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("executor", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("resumed_from", String(32), nullable=True),
    Column("error", Text, nullable=True),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
    Index("ix_pipeline_executions_pipeline", "pipeline", "started_at"),
)

pipeline_steps = Table(
    "pipeline_steps",
    metadata,
    Column(
        "pipeline_run_id",
        String(32),
        ForeignKey("pipeline_executions.run_id"),
        primary_key=True,
    ),
    Column("node", String(256), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("step", String(256), nullable=False),
    Column("upstream", Text, nullable=False),  # JSON list of the nodes it reads
    Column("status", String(16), nullable=False),
    Column("cache_key", String(64), nullable=True),
    Column("output_digest", String(71), nullable=True),
    Column("output_kind", String(16), nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("from_run", String(32), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("started_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Column("output_data", LargeBinary, nullable=True),  # an inline output's bytes
)
