"""The serving area's tables (migration 0006), on the shared metadata of knot.store.schema.

`serving_traffic` holds one row per model: the split its running services follow.
`serving_slots` holds, per running service and role, the model version it serves: the
marker whose compare-and-set decides which worker writes a switch's audit row.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Integer, String, Table

from knot.store.schema import metadata

__all__ = ["serving_slots", "serving_traffic"]

serving_traffic = Table(
    "serving_traffic",
    metadata,
    Column("model", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("challenger", String(64), nullable=False),
    Column("weight", Float, nullable=False),
    Column("shadow", Boolean, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(256), nullable=False),
)

serving_slots = Table(
    "serving_slots",
    metadata,
    Column("service", String(32), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("model", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(71), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
