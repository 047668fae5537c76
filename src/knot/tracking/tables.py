"""The tracking area's own table (migration 0011), on the shared metadata of
knot.store.tables; runs, metrics, params and tags are declared there."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from knot.store.tables import metadata

__all__ = ["writer_marks"]

# One row per SDK writer (one per process and store): the highest batch number it has
# had written. It grows with the number of processes that logged, not with batches.
writer_marks = Table(
    "writer_marks",
    metadata,
    Column("writer_id", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
