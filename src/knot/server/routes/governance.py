"""/api/v1 routes for lineage and the audit log (read-only: every area writes its own
edges and audit rows in the transaction of its change)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from knot.governance.audit import AuditRecord, ChainBreak
from knot.governance.audit_anchor import AnchorStatus
from knot.governance.audit_query import MAX_LIMIT, AuditQuery
from knot.governance.lineage_graph import MAX_DEPTH, LineageGraph
from knot.governance.sql_store import SqlGovernance
from knot.server.deps import get_governance

__all__ = ["router"]

router = APIRouter()


Governance = Annotated[SqlGovernance, Depends(get_governance)]


@router.get("/lineage", tags=["lineage"])
def lineage(
    governance: Governance,
    ref: Annotated[str, Query(description="models:/NAME/VERSION, run:ID, dataset:NAME@V, ...")],
    direction: Annotated[str, Query(description="up, down or both")] = "both",
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = 10,
) -> LineageGraph:
    """Everything upstream and/or downstream of one node, within `depth` edges."""
    return governance.lineage(ref, direction, depth)


@router.get("/audit", tags=["audit"])
def audit_log(
    governance: Governance,
    since: Annotated[str | None, Query(description="ISO date or age: 7d, 12h")] = None,
    entity_kind: str | None = None,
    entity_id: str | None = None,
    model: Annotated[str | None, Query(description="a registered model's name")] = None,
    actor: str | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
) -> list[AuditRecord]:
    """The newest `limit` audit records matching every filter given, oldest first."""
    filters = AuditQuery(since, entity_kind, entity_id, model, actor, action, limit)
    return governance.audit_log(filters)


@router.get("/audit/verify", tags=["audit"])
def verify_audit(governance: Governance) -> list[ChainBreak]:
    """Every break in the audit log's hash chain, its seals (the server's audit key) and
    the server's anchors; an empty list means it is intact."""
    return governance.verify_audit()


@router.get("/audit/anchors", tags=["audit"])
def anchor_status(governance: Governance) -> AnchorStatus:
    """How far the anchors on the server's machine cover the log (`knot audit anchor`)."""
    return governance.anchor_status()
