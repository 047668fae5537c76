"""Lineage and audit queries straight on the metadata database (SQLite or PostgreSQL)."""

from __future__ import annotations

from knot.governance import audit_anchor, audit_query
from knot.governance.audit import AuditRecord, ChainBreak
from knot.governance.audit_anchor import Anchor, AnchorStatus
from knot.governance.audit_query import AuditQuery
from knot.governance.lineage_graph import LineageGraph, walk
from knot.governance.refs import AliasResolver, resolve_ref
from knot.store.database import Database

__all__ = ["SqlGovernance"]


class SqlGovernance:
    """GovernanceStore over a SQL database; `db` also holds the server's API tokens.
    `resolve_alias` reads `models:/NAME@ALIAS` (the registry's, given by knot.backends);
    without it a lineage reference must name the version."""

    def __init__(self, uri: str, resolve_alias: AliasResolver | None = None) -> None:
        self.uri = uri
        self.db = Database(uri)
        self._resolve_alias = resolve_alias

    def __repr__(self) -> str:
        return f"SqlGovernance({self.uri!r})"

    def lineage(self, ref: str, direction: str = "both", depth: int = 10) -> LineageGraph:
        with self.db.read() as conn:
            node = resolve_ref(conn, ref, self._resolve_alias)
            return walk(conn, node.kind, node.id, direction, depth)

    def audit_log(self, filters: AuditQuery) -> list[AuditRecord]:
        with self.db.read() as conn:
            return audit_query.query(conn, filters)

    def verify_audit(self) -> list[ChainBreak]:
        with self.db.read() as conn:
            return audit_anchor.verify(conn, self.uri)

    def anchor_status(self) -> AnchorStatus:
        with self.db.read() as conn:
            return audit_anchor.status(conn, self.uri)

    def anchor_audit(self) -> Anchor:
        """Verify the log, then anchor its head outside the database (see audit_anchor)."""
        with self.db.read() as conn:
            return audit_anchor.anchor(conn, self.uri)

    def close(self) -> None:
        self.db.close()
