"""Inline step outputs: a pipeline step's small output (its encoded bytes, at most
knot.pipelines.values.INLINE_LIMIT) is kept in its step row and cache entry instead of
a blob file, so it is durable with the step's commit and needs no file of its own.

- pipeline_cache.output_data and pipeline_steps.output_data: the encoded bytes of an
  inline output, NULL for an output stored as a blob (and for every row written before
  this migration, whose blobs keep working). output_digest stays the output's identity
  either way: the sha256 of these bytes.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pipeline_cache", sa.Column("output_data", sa.LargeBinary(), nullable=True))
    op.add_column("pipeline_steps", sa.Column("output_data", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Rows whose output was inline lose it: those steps miss the cache and run again.
    with op.batch_alter_table("pipeline_steps") as batch:
        batch.drop_column("output_data")
    with op.batch_alter_table("pipeline_cache") as batch:
        batch.drop_column("output_data")
