"""The registry's tables (migration 0004), on the shared metadata of knot.store.schema.

Signatures, environments, dataset lists, policies and check results are JSON text:
they are read whole with their row and never queried inside.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from knot.store.schema import metadata

__all__ = [
    "model_aliases",
    "model_versions",
    "promotion_policies",
    "promotion_requests",
    "registered_models",
]

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("run_id", String(32), ForeignKey("runs.run_id"), nullable=False),
    Column("artifact_path", String(1024), nullable=False),
    Column("artifact_digest", String(71), nullable=False),
    Column("flavor", String(32), nullable=False),
    Column("signature", Text, nullable=True),
    Column("environment", Text, nullable=False),
    Column("datasets", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=True),
    Column("intended_use", Text, nullable=True),
    Column("limitations", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("fast_load_digest", String(71), nullable=True),  # migration 0010
    Index("ix_model_versions_run", "run_id"),
)

# One row per (model, alias): moving an alias is one UPDATE of `version`.
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(256), nullable=False),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
)

promotion_policies = Table(
    "promotion_policies",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("policy", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(256), nullable=False),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("alias", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("approver_role", String(64), nullable=True),
    Column("checks", Text, nullable=False),
    Column("comment", Text, nullable=True),
    Column("requested_at", BigInteger, nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("decided_at", BigInteger, nullable=True),
    Column("decided_by", String(256), nullable=True),
    Column("decision_comment", Text, nullable=True),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
    Index("ix_promotion_requests_model", "name", "status"),
)
