"""Automation: the retrain loop's state, its lease, and trigger cursors.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loop_state",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("retrain_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger, nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "loop_retrains",
        sa.Column("retrain_id", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("trigger_kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("challenger_version", sa.Integer, nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
        sa.Column("owner", sa.String(256), nullable=False),
    )
    op.create_index("ix_loop_retrains_model", "loop_retrains", ["model", "started_at"])
    op.create_table(
        "loop_cursors",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("trigger", sa.String(300), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("loop_cursors")
    op.drop_index("ix_loop_retrains_model", table_name="loop_retrains")
    op.drop_table("loop_retrains")
    op.drop_table("loop_state")
