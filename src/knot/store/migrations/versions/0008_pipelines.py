"""Pipelines: step cache entries and pipeline executions.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # cache key (sha256 of step code, params and input digests) -> the output it produced
    op.create_table(
        "pipeline_cache",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("step", sa.String(256), nullable=False),
        sa.Column("output_digest", sa.String(71), nullable=False),
        sa.Column("output_kind", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_pipeline_cache_step", "pipeline_cache", ["step"])
    op.create_table(
        "pipeline_executions",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("pipeline", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executor", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("resumed_from", sa.String(32), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_pipeline_executions_pipeline", "pipeline_executions", ["pipeline", "started_at"]
    )
    # one row per step of an execution: what `resume=` reuses and `knot pipeline show` shows
    op.create_table(
        "pipeline_steps",
        sa.Column(
            "pipeline_run_id",
            sa.String(32),
            sa.ForeignKey("pipeline_executions.run_id"),
            primary_key=True,
        ),
        sa.Column("node", sa.String(256), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("step", sa.String(256), nullable=False),
        sa.Column("upstream", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=True),
        sa.Column("output_digest", sa.String(71), nullable=True),
        sa.Column("output_kind", sa.String(16), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("from_run", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("pipeline_steps")
    op.drop_index("ix_pipeline_executions_pipeline", table_name="pipeline_executions")
    op.drop_table("pipeline_executions")
    op.drop_index("ix_pipeline_cache_step", table_name="pipeline_cache")
    op.drop_table("pipeline_cache")
