"""The lineage graph as a picture: a page of the report shell (knot.page).

Nodes stand in columns by layer (upstream on the left, the root in the middle,
downstream on the right), coloured by kind; each edge is an arrow labelled with its
relation. Hovering a node shows its kind and full id.
"""

from __future__ import annotations

import html
from collections import defaultdict

from knot.governance.lineage_graph import LineageGraph, LineageNode
from knot.page import Page

__all__ = ["layout", "lineage_page"]

_COLOURS = {
    "dataset": "#2a9d8f",
    "run": "#e9c46a",
    "model_version": "#e76f51",
    "modelkit": "#8e6cc2",
    "deployment": "#264653",
}
_OTHER = "#8d99ae"


def layout(graph: LineageGraph) -> dict[str, tuple[float, float]]:
    """(x, y) per node key: x is the layer, nodes of one layer spread evenly around y=0."""
    by_layer: dict[int, list[LineageNode]] = defaultdict(list)
    for node in graph.nodes:
        by_layer[node.layer].append(node)
    positions: dict[str, tuple[float, float]] = {}
    for layer, nodes in by_layer.items():
        nodes.sort(key=lambda n: (n.kind, n.id))
        middle = (len(nodes) - 1) / 2
        for i, node in enumerate(nodes):
            positions[node.key] = (float(layer), middle - i)
    return positions


def _short(node_id: str) -> str:
    return node_id if len(node_id) <= 18 else node_id[:8] + "…" + node_id[-6:]


def lineage_page(graph: LineageGraph) -> Page:
    """`graph` drawn in layers."""
    import plotly.graph_objects as go

    positions = layout(graph)
    fig = go.Figure()
    for edge in graph.edges:
        (x0, y0), (x1, y1) = positions[edge.source], positions[edge.target]
        fig.add_annotation(
            x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
            showarrow=True, arrowhead=3, arrowsize=1.2, arrowwidth=1.5, arrowcolor="#999",
            standoff=14, startstandoff=14, text="",
        )  # fmt: skip
        fig.add_annotation(
            x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=html.escape(edge.relation),
            showarrow=False, font={"size": 10, "color": "#555"}, bgcolor="rgba(255,255,255,0.8)",
        )  # fmt: skip
    kinds = sorted({n.kind for n in graph.nodes})
    for kind in kinds:
        nodes = [n for n in graph.nodes if n.kind == kind]
        fig.add_trace(
            go.Scatter(
                x=[positions[n.key][0] for n in nodes],
                y=[positions[n.key][1] for n in nodes],
                mode="markers+text",
                name=kind,
                text=[_short(n.id) for n in nodes],
                textposition="bottom center",
                hovertext=[f"{n.kind}<br>{html.escape(n.id)}<br>layer {n.layer}" for n in nodes],
                hoverinfo="text",
                marker={
                    "size": [26 if n.key == graph.root.key else 18 for n in nodes],
                    "color": _COLOURS.get(kind, _OTHER),
                    "line": {"width": 2, "color": "#222"},
                    "symbol": ["star" if n.key == graph.root.key else "circle" for n in nodes],
                },
            )
        )
    layers = sorted({n.layer for n in graph.nodes})
    tall = max((sum(1 for n in graph.nodes if n.layer == layer) for layer in layers), default=1)
    fig.update_layout(
        title=f"Lineage of {graph.root.kind} {graph.root.id}",
        template="plotly_white",
        height=max(420, 90 * tall + 160),
        xaxis={
            "tickvals": layers,
            "ticktext": [_layer_name(layer) for layer in layers],
            "zeroline": False,
            "showgrid": False,
        },
        yaxis={"visible": False},
        legend={"title": {"text": "kind"}},
    )
    page = Page(
        f"Lineage: {graph.root.kind} {graph.root.id}",
        kind="lineage",
        subtitle=f"{len(graph.nodes)} nodes, {len(graph.edges)} edges, "
        f"{graph.direction} to depth {graph.depth}.",
    )
    shown = page.section()
    if not graph.edges:
        shown.text("No lineage is recorded for this node yet.", style="note")
    shown.figure(fig)
    return page


def _layer_name(layer: int) -> str:
    if layer == 0:
        return "root"
    return f"{-layer} up" if layer < 0 else f"{layer} down"
