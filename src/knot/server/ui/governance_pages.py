"""The audit log, filterable, with the hash chain's verify status; and the lineage
graph around any node, drawn by layer (upstream left, downstream right), each node a
link to its page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from knot.governance.audit_query import AuditQuery
from knot.governance.lineage_graph import MAX_DEPTH, LineageGraph, LineageNode
from knot.server.ui import stores
from knot.server.ui.params import bounded_int, one_of
from knot.server.ui.render import page, render
from knot.server.ui.session import visitor

__all__ = ["node_url", "router"]

router = APIRouter(include_in_schema=False)


@router.get("/ui/audit")
@page
def audit(
    request: Request,
    since: str | None = None,
    model: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    entity_kind: str | None = None,
    limit: str | None = None,
) -> Response:
    who = visitor(request)
    governance = stores.governance(request)
    filters = {
        "since": since or None,
        "model": model or None,
        "actor": actor or None,
        "action": action or None,
        "entity_kind": entity_kind or None,
    }
    count = bounded_int("limit", limit, 200, 1, 10_000)
    query = AuditQuery(
        filters["since"],
        filters["entity_kind"],
        None,
        filters["model"],
        filters["actor"],
        filters["action"],
        count,
    )
    records = list(reversed(governance.audit_log(query)))
    breaks = governance.verify_audit()
    return render(
        request,
        "audit.html",
        who=who,
        records=records,
        breaks=breaks,
        filters={k: v or "" for k, v in filters.items()},
        limit=count,
    )


def node_url(node: LineageNode) -> str:
    """The page of a lineage node, or its own lineage graph where it has no page."""
    if node.kind == "run":
        return f"/ui/runs/{quote(node.id, safe='')}"
    if node.kind == "model_version" and "/" in node.id:
        name, _, version = node.id.rpartition("/")
        return f"/ui/models/{quote(name, safe='')}#v{quote(version)}"
    if node.kind == "dataset":
        return f"/ui/datasets/{quote(node.id.split('@')[0], safe='')}"
    return "/ui/lineage?ref=" + quote(f"{node.kind}:{node.id}", safe="")


def _figure(graph: LineageGraph) -> dict[str, Any]:
    by_layer: dict[int, list[LineageNode]] = defaultdict(list)
    for node in graph.nodes:
        by_layer[node.layer].append(node)
    where: dict[str, tuple[float, float]] = {}
    for layer, nodes in by_layer.items():
        for i, node in enumerate(sorted(nodes, key=lambda n: (n.kind, n.id))):
            where[node.key] = (float(layer), i - (len(nodes) - 1) / 2)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in graph.edges:
        if edge.source in where and edge.target in where:
            (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
    nodes = graph.nodes
    kinds = sorted({n.kind for n in nodes})
    edges: dict[str, Any] = {"type": "scatter", "mode": "lines", "x": xs, "y": ys}
    edges.update(hoverinfo="skip", line={"color": "#bbb", "width": 1})
    points = {
        "type": "scatter",
        "mode": "markers+text",
        "x": [where[n.key][0] for n in nodes],
        "y": [where[n.key][1] for n in nodes],
        "text": [f"{n.kind}<br>{n.id[:28]}" for n in nodes],
        "textposition": "bottom center",
        "customdata": [node_url(n) for n in nodes],
        "marker": {
            "size": [22 if n.key == graph.root.key else 14 for n in nodes],
            "color": [kinds.index(n.kind) for n in nodes],
            "colorscale": "Viridis",
        },
        "hovertemplate": "%{text}<br>click to open<extra></extra>",
    }
    axis = {"visible": False}
    layout: dict[str, Any] = {"height": 460, "showlegend": False, "xaxis": axis, "yaxis": axis}
    layout["margin"] = {"l": 20, "r": 20, "t": 20, "b": 20}
    return {"data": [edges, points], "layout": layout}


@router.get("/ui/lineage")
@page
def lineage(
    request: Request,
    ref: str | None = None,
    direction: str | None = None,
    depth: str | None = None,
) -> Response:
    who = visitor(request)
    way = one_of("direction", direction, ("both", "up", "down"))
    steps = bounded_int("depth", depth, 4, 1, MAX_DEPTH)
    graph = None
    if ref:
        graph = stores.governance(request).lineage(ref, way, steps)
    return render(
        request,
        "lineage.html",
        who=who,
        ref=ref or "",
        direction=way,
        depth=steps,
        graph=graph,
        charts=[_figure(graph)] if graph is not None else [],
        node_url=node_url,
    )
