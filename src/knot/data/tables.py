"""The data area's tables (created by migration 0003), on the shared metadata.

A dataset is a name with an optional rule set; its versions are immutable rows
naming a Parquet blob by digest; aliases point at versions; validation reports
are stored whole as JSON and linked to the version they checked.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from knot.store.schema import metadata

__all__ = ["dataset_aliases", "dataset_versions", "datasets", "validation_reports"]

datasets = Table(
    "datasets",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=True),
    Column("rules", Text, nullable=True),  # the rule set every new version must pass (JSON)
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("name", String(128), ForeignKey("datasets.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("columns", Text, nullable=False),  # list of ColumnSchema (JSON)
    Column("profile", Text, nullable=True),  # Profile (JSON)
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=True),
    Column("tags", Text, nullable=False),
    Column("source", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("run_id", String(32), nullable=True),
    Column("report_id", String(32), nullable=True),
    UniqueConstraint("name", "digest", name="uq_dataset_versions_digest"),
)

dataset_aliases = Table(
    "dataset_aliases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"], ["dataset_versions.name", "dataset_versions.version"]
    ),
)

validation_reports = Table(
    "validation_reports",
    metadata,
    Column("report_id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("rules", Text, nullable=False),  # the RuleSet checked (JSON)
    Column("report", Text, nullable=False),  # the ValidationReport (JSON)
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Index("ix_validation_reports_version", "name", "version", "created_at"),
)
