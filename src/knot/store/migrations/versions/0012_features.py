"""Features: feature view and feature service definitions (versioned), and which
feature service each registered model version reads.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("feature_views", "feature_services"):
        op.create_table(
            name,
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("spec", sa.Text, nullable=False),
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("created_at", sa.BigInteger, nullable=False),
            sa.Column("created_by", sa.String(256), nullable=False),
        )
    op.create_table(
        "feature_model_bindings",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("service_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feature_model_bindings")
    op.drop_table("feature_services")
    op.drop_table("feature_views")
