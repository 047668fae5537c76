"""What Knot records about ModelKits in its metadata store: lineage edges
(model_version -packaged-> modelkit, named by manifest digest) and audit rows. Stores
without a local database (a remote Knot server) record nothing here."""

from __future__ import annotations

from typing import Any

from knot.governance.lineage import Edge

__all__ = ["record_kit"]


def record_kit(action: str, digest: str, after: dict[str, Any], edges: list[Edge]) -> bool:
    """Write the audit row and edges in one transaction; False if the store has no
    database of its own."""
    from knot.governance.audit import record
    from knot.governance.lineage import add_edges
    from knot.tracking.fluent import session

    db = getattr(session().store, "db", None)
    if db is None:
        return False
    with db.write() as conn:
        add_edges(conn, edges)
        record(conn, action, "modelkit", digest, None, after)
    return True
