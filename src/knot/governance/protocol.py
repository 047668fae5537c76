"""GovernanceStore: lineage and audit queries, on a SQL database or through a Knot server.

Chosen by the metadata store's URI scheme, as the tracking store is (knot.backends), so
the SDK and CLI read lineage and the audit log the same way locally and against
`knot server`.
"""

from __future__ import annotations

from typing import Protocol

from knot.governance.audit import AuditRecord, ChainBreak
from knot.governance.audit_anchor import AnchorStatus
from knot.governance.audit_query import AuditQuery
from knot.governance.lineage_graph import LineageGraph

__all__ = ["GovernanceStore"]


class GovernanceStore(Protocol):
    uri: str

    def lineage(self, ref: str, direction: str = "both", depth: int = 10) -> LineageGraph:
        """The graph around the node `ref` names (see knot.governance.refs)."""
        ...

    def audit_log(self, filters: AuditQuery) -> list[AuditRecord]:
        """Audit records matching `filters`, oldest first."""
        ...

    def verify_audit(self) -> list[ChainBreak]:
        """Every break in the audit chain, its seals and its anchors; empty when intact."""
        ...

    def anchor_status(self) -> AnchorStatus:
        """How far the anchors of the store's machine cover the log."""
        ...

    def close(self) -> None: ...
