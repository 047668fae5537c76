"""`knot lineage REF`: where a model, run or dataset came from and what it fed."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from knot.cli._output import print_json

if TYPE_CHECKING:
    from rich.tree import Tree

    from knot.governance.lineage_graph import LineageEdge, LineageGraph, LineageNode

_STYLES = {"dataset": "cyan", "run": "yellow", "model_version": "magenta", "modelkit": "blue"}


def lineage(
    ref: str = typer.Argument(
        ..., help="models:/NAME/VERSION, models:/NAME@ALIAS, run:ID, [dataset:]NAME@V or KIND:ID."
    ),
    direction: str = typer.Option("both", "--direction", "-d", help="up, down or both."),
    depth: int = typer.Option(10, "--depth", help="How many edges to follow each way."),
    json_out: bool = typer.Option(False, "--json", help="Print the graph as JSON."),
    html: Path = typer.Option(None, "--html", help="Also draw the graph into this HTML file."),
) -> None:
    """Print the lineage graph around REF, upstream and downstream, as trees."""
    import knot

    graph = knot.lineage(ref, direction=direction, depth=depth)
    if html is not None:
        from knot.governance.lineage_html import lineage_page

        lineage_page(graph).write_html(html)
        typer.echo(f"wrote {html}", err=True)
    if json_out:
        print_json(graph.model_dump(mode="json"))
        return
    from rich.console import Console

    console = Console()
    if not graph.edges:
        console.print(
            f"no lineage recorded for {_label(graph.root)}; edges appear when runs read or "
            "write datasets and register models (check the reference)"
        )
        return
    for way in ("up", "down"):
        if graph.direction in (way, "both"):
            console.print(_tree(graph, way))


def _label(node: LineageNode) -> str:
    from rich.markup import escape

    style = _STYLES.get(node.kind, "white")
    return f"[{style}]{node.kind}[/] [bold]{escape(node.id)}[/]"


def _tree(graph: LineageGraph, way: str) -> Tree:
    """One tree from the root: its sources (up) or what it fed (down); a node reached
    twice is shown once and then referred to."""
    from rich.markup import escape
    from rich.tree import Tree

    nodes = {n.key: n for n in graph.nodes}
    links: dict[str, list[tuple[LineageEdge, str]]] = defaultdict(list)
    for edge in graph.edges:
        near, far = (edge.target, edge.source) if way == "up" else (edge.source, edge.target)
        links[near].append((edge, far))
    title = "upstream (where it came from)" if way == "up" else "downstream (what it fed)"
    tree = Tree(f"{_label(graph.root)}  [dim]{title}[/]")
    seen = {graph.root.key}

    def grow(branch: Tree, key: str) -> None:
        for edge, far in links.get(key, []):
            relation = f"[dim]-{escape(edge.relation)}->[/]"
            shown = (
                f"{_label(nodes[far])} {relation}"
                if way == "up"
                else f"{relation} {_label(nodes[far])}"
            )
            if far in seen:
                branch.add(f"{shown} [dim](shown above)[/]")
                continue
            seen.add(far)
            grow(branch.add(shown), far)

    grow(tree, graph.root.key)
    if not links.get(graph.root.key):
        tree.add("[dim]nothing recorded[/]")
    return tree
