"""Governance's tables (migrations 0002 and 0005), on the shared metadata of
knot.store.schema: the lineage edges every area writes, the audit log, its head and
the API tokens."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from knot.store.schema import metadata

__all__ = ["api_tokens", "audit_head", "audit_log", "lineage_edges"]

# Added by migration 0002: one table of typed edges that every area writes to.
lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("from_kind", String(32), primary_key=True),
    Column("from_id", String(256), primary_key=True),
    Column("relation", String(32), primary_key=True),
    Column("to_kind", String(32), primary_key=True),
    Column("to_id", String(256), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_lineage_to", "to_kind", "to_id"),
)

# Added by migration 0005: the hash-chained audit log (see knot.governance.audit).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity_kind", String(32), nullable=False),
    Column("entity_id", String(256), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_entity", "entity_kind", "entity_id"),
    Index("ix_audit_at", "at"),
)

# One row (id 1): the seq and hash of the newest audit record, updated in the same
# transaction, so removing the newest records is as visible as removing older ones.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Tokens are `knot_<token_id>_<secret>`; only sha256(secret) is stored.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(16), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
