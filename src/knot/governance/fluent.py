"""The governance SDK: `knot.lineage(ref)`, on the store KNOT_STORE names."""

from __future__ import annotations

import threading

from knot.config import settings
from knot.governance.lineage_graph import LineageGraph
from knot.governance.protocol import GovernanceStore
from knot.governance.stores import open_governance

__all__ = ["governance", "lineage"]

_lock = threading.Lock()
_open: GovernanceStore | None = None


def governance() -> GovernanceStore:
    """The governance store for the current KNOT_STORE, reopened when it changes."""
    global _open
    uri = settings().store_uri
    with _lock:
        if _open is None or _open.uri != uri:
            if _open is not None:
                _open.close()
            _open = open_governance(uri)
        return _open


def lineage(ref: str, direction: str = "both", depth: int = 10) -> LineageGraph:
    """Where `ref` came from and what it fed, within `depth` edges.

    `ref` is models:/NAME/VERSION, models:/NAME@ALIAS, run:ID (or a bare run id),
    dataset:NAME@VERSION or KIND:ID; `direction` is "up", "down" or "both".
    """
    return governance().lineage(ref, direction, depth)
