"""The lineage graph: one table of typed edges (from kind/id -> to kind/id, relation).

Nodes are named by kind and id: ("dataset", "churn@3"), ("run", "<run id>"),
("model_version", "churn/3"), ... Every area writes its edges with `add_edges`
inside its own transaction, so an edge exists exactly when the change does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from knot.governance.tables import lineage_edges
from knot.store.database import now_ms
from knot.store.prepared import Prepared

__all__ = ["Edge", "add_edges", "edges_from", "edges_to"]


@dataclass(frozen=True)
class Edge:
    from_kind: str
    from_id: str
    relation: str
    to_kind: str
    to_id: str
    created_at: int = 0


def add_edges(conn: Connection, edges: Iterable[Edge]) -> None:
    """Insert edges, ignoring ones already recorded (recording twice is harmless)."""
    rows = [
        {
            "from_kind": e.from_kind,
            "from_id": e.from_id,
            "relation": e.relation,
            "to_kind": e.to_kind,
            "to_id": e.to_id,
            "created_at": e.created_at or now_ms(),
        }
        for e in edges
    ]
    if not rows:
        return
    statement = _PG_ADD if conn.dialect.name == "postgresql" else _SQLITE_ADD
    statement.run(conn, rows)


# Built once: a pipeline adds edges for every step.
_PG_ADD = Prepared(postgresql.insert(lineage_edges).on_conflict_do_nothing())
_SQLITE_ADD = Prepared(sqlite.insert(lineage_edges).on_conflict_do_nothing())


def _rows_to_edges(rows: Iterable[object]) -> list[Edge]:
    return [Edge(**r._mapping) for r in rows]  # type: ignore[attr-defined]


def edges_from(conn: Connection, kind: str, node_id: str) -> list[Edge]:
    t = lineage_edges
    query = select(t).where(t.c.from_kind == kind, t.c.from_id == node_id)
    return _rows_to_edges(conn.execute(query.order_by(t.c.created_at)))


def edges_to(conn: Connection, kind: str, node_id: str) -> list[Edge]:
    t = lineage_edges
    query = select(t).where(t.c.to_kind == kind, t.c.to_id == node_id)
    return _rows_to_edges(conn.execute(query.order_by(t.c.created_at)))
