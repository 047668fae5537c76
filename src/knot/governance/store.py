"""GovernanceStore: lineage and audit queries, on a SQL database or through a Knot server.

Chosen by the metadata store's URI scheme, as the tracking store is, so the SDK and
CLI read lineage and the audit log the same way locally and against `knot server`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

from knot.errors import Invalid
from knot.governance.audit import AuditRecord, ChainBreak
from knot.governance.audit_query import AuditQuery
from knot.governance.lineage_graph import LineageGraph

__all__ = ["GovernanceStore", "open_governance"]

_SQL = "knot.governance.sql_store:SqlGovernance"
_REST = "knot.client.rest_governance:RestGovernance"
_SCHEMES = {
    "sqlite": _SQL,
    "postgresql": _SQL,
    "postgres": _SQL,
    "postgresql+psycopg": _SQL,
    "http": _REST,
    "https": _REST,
}


class GovernanceStore(Protocol):
    uri: str

    def lineage(self, ref: str, direction: str = "both", depth: int = 10) -> LineageGraph:
        """The graph around the node `ref` names (see knot.governance.refs)."""
        ...

    def audit_log(self, filters: AuditQuery) -> list[AuditRecord]:
        """Audit records matching `filters`, oldest first."""
        ...

    def verify_audit(self) -> list[ChainBreak]:
        """Every break in the audit chain; empty when it is intact."""
        ...

    def close(self) -> None: ...


def open_governance(uri: str) -> GovernanceStore:
    """The governance store for a metadata store URI."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    target = _SCHEMES.get(scheme)
    if target is None:
        raise Invalid(
            f"store URI {uri!r} has no supported scheme; use one of "
            "sqlite:////abs/path/knot.db, postgresql://user@host:port/db, http://host:port",
            field="store",
        )
    module, _, name = target.partition(":")
    factory: Callable[[str], GovernanceStore] = getattr(importlib.import_module(module), name)
    return factory(uri)
