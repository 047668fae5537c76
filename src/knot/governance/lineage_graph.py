"""Walking the lineage graph: everything upstream and downstream of one node, in one
recursive SQL query (WITH RECURSIVE, the same text on SQLite and PostgreSQL).

Upstream follows edges backwards (model version <- run <- dataset), downstream
forwards (dataset -> run -> model version -> ...). Each node gets a layer: 0 for the
root, -n n steps upstream, +n n steps downstream, which is how the graph is drawn.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Connection, Integer, String, cast, literal, literal_column, select, union_all

from knot.errors import Invalid
from knot.governance.tables import lineage_edges

__all__ = ["MAX_DEPTH", "Direction", "LineageEdge", "LineageGraph", "LineageNode", "walk"]

Direction = Literal["up", "down", "both"]
MAX_DEPTH = 100
_DIRECTIONS = ("up", "down", "both")


class LineageNode(BaseModel):
    kind: str
    id: str
    layer: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


class LineageEdge(BaseModel):
    from_kind: str
    from_id: str
    relation: str
    to_kind: str
    to_id: str
    created_at: int

    @property
    def source(self) -> str:
        return f"{self.from_kind}:{self.from_id}"

    @property
    def target(self) -> str:
        return f"{self.to_kind}:{self.to_id}"


class LineageGraph(BaseModel):
    """The nodes around `root` (root first, then by layer) and the edges between them."""

    root: LineageNode
    direction: str
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]

    def parents(self, key: str) -> list[tuple[LineageEdge, LineageNode]]:
        """Edges into `key` with the node each comes from."""
        nodes = {n.key: n for n in self.nodes}
        return [(e, nodes[e.source]) for e in self.edges if e.target == key and e.source in nodes]

    def children(self, key: str) -> list[tuple[LineageEdge, LineageNode]]:
        """Edges out of `key` with the node each goes to."""
        nodes = {n.key: n for n in self.nodes}
        return [(e, nodes[e.target]) for e in self.edges if e.source == key and e.target in nodes]


def _check(direction: str, depth: int) -> None:
    if direction not in _DIRECTIONS:
        raise Invalid(
            f"direction {direction!r} is not one of {', '.join(_DIRECTIONS)}", field="direction"
        )
    if not 1 <= depth <= MAX_DEPTH:
        raise Invalid(f"depth must be between 1 and {MAX_DEPTH}, got {depth}", field="depth")


def walk(
    conn: Connection, kind: str, node_id: str, direction: str = "both", depth: int = 10
) -> LineageGraph:
    """The graph within `depth` edges of (kind, node_id), up, down or both ways."""
    _check(direction, depth)
    e = lineage_edges
    parts = []
    # (near side, far side) of an edge: upstream walks from its target to its source
    sides = {
        "up": ((e.c.to_kind, e.c.to_id), (e.c.from_kind, e.c.from_id)),
        "down": ((e.c.from_kind, e.c.from_id), (e.c.to_kind, e.c.to_id)),
    }
    for way in ("up", "down"):
        if direction not in (way, "both"):
            continue
        (near_kind, near_id), (far_kind, far_id) = sides[way]
        start = select(
            cast(literal(kind), String(32)).label("kind"),
            cast(literal(node_id), String(256)).label("id"),
            cast(literal(0), Integer).label("depth"),
        ).cte(f"walk_{way}", recursive=True)
        step = select(far_kind, far_id, start.c.depth + 1).where(
            near_kind == start.c.kind, near_id == start.c.id, start.c.depth < depth
        )
        reached = start.union(step)
        parts.append(
            select(
                literal_column(f"'{way}'").label("way"),
                (reached.c.depth + 1).label("far_depth"),
                *e.c,
            ).where(near_kind == reached.c.kind, near_id == reached.c.id, reached.c.depth < depth)
        )
    rows = conn.execute(union_all(*parts) if len(parts) > 1 else parts[0]).all()
    root = LineageNode(kind=kind, id=node_id, layer=0)
    layers: dict[str, int] = {root.key: 0}
    edges: dict[tuple[str, ...], LineageEdge] = {}
    for row in sorted(rows, key=lambda r: r.far_depth):
        edge = LineageEdge(
            from_kind=row.from_kind,
            from_id=row.from_id,
            relation=row.relation,
            to_kind=row.to_kind,
            to_id=row.to_id,
            created_at=row.created_at,
        )
        edges.setdefault((edge.source, edge.relation, edge.target), edge)
        far = edge.source if row.way == "up" else edge.target
        layers.setdefault(far, -row.far_depth if row.way == "up" else row.far_depth)
    nodes = [
        LineageNode(kind=k.partition(":")[0], id=k.partition(":")[2], layer=layer)
        for k, layer in layers.items()
    ]
    nodes.sort(key=lambda n: (n.key != root.key, n.layer, n.kind, n.id))
    ordered = sorted(edges.values(), key=lambda x: (x.created_at, x.source, x.target))
    return LineageGraph(
        root=root,
        direction=direction,
        depth=depth,
        nodes=nodes,
        edges=ordered,
    )
