"""Governance's own tables (migration 0005), on the shared metadata of knot.store.tables.

audit_log itself lives in knot.store.tables; these two sit beside it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from knot.store.tables import metadata

__all__ = ["api_tokens", "audit_head"]

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
