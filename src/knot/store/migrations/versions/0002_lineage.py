"""One lineage table of typed edges that every area writes to.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_edges",
        sa.Column("from_kind", sa.String(32), primary_key=True),
        sa.Column("from_id", sa.String(256), primary_key=True),
        sa.Column("relation", sa.String(32), primary_key=True),
        sa.Column("to_kind", sa.String(32), primary_key=True),
        sa.Column("to_id", sa.String(256), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_lineage_to", "lineage_edges", ["to_kind", "to_id"])
