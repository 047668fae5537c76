"""RestGovernance: the GovernanceStore protocol over a Knot server's /api/v1 routes."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import TypeAdapter

from knot.client._http import ServerClient, send
from knot.governance.audit import AuditRecord, ChainBreak
from knot.governance.audit_anchor import AnchorStatus
from knot.governance.audit_query import AuditQuery
from knot.governance.lineage_graph import LineageGraph

__all__ = ["RestGovernance"]

_RECORDS = TypeAdapter(list[AuditRecord])
_BREAKS = TypeAdapter(list[ChainBreak])
_STATUS = TypeAdapter(AnchorStatus)


class RestGovernance(ServerClient):
    """Lineage and audit queries against the Knot server at `uri` (http://host:port)."""

    def _get(self, path: str, params: dict[str, str | int]) -> bytes:
        return send(self._client, self.uri, "GET", "/api/v1" + path, params=params)

    def lineage(self, ref: str, direction: str = "both", depth: int = 10) -> LineageGraph:
        data = self._get("/lineage", {"ref": ref, "direction": direction, "depth": depth})
        return LineageGraph.model_validate_json(data)

    def audit_log(self, filters: AuditQuery) -> list[AuditRecord]:
        params = {k: v for k, v in asdict(filters).items() if v is not None}
        return _RECORDS.validate_json(self._get("/audit", params))

    def verify_audit(self) -> list[ChainBreak]:
        return _BREAKS.validate_json(self._get("/audit/verify", {}))

    def anchor_status(self) -> AnchorStatus:
        return _STATUS.validate_json(self._get("/audit/anchors", {}))
