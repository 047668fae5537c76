"""Run comparison as a picture: a page of the report shell (knot.page)."""

from __future__ import annotations

import warnings
from pathlib import Path

from knot.page import Page
from knot.tracking.compare.compare import Comparison

__all__ = ["compare_page", "write_html"]


def compare_page(result: Comparison) -> Page:
    """Bar charts of each metric per run, then the params table."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [f"{r.name} ({r.run_id[:8]})" for r in result.runs]
    keys = list(result.metrics)
    rows = max(1, len(keys))
    fig = make_subplots(rows=rows, cols=1, subplot_titles=keys or ["no metrics"])
    for i, key in enumerate(keys, start=1):
        values = result.metrics[key]
        fig.add_trace(go.Bar(x=names, y=values, name=key, showlegend=False), row=i, col=1)
    fig.update_layout(height=260 * rows, title="Run comparison", template="plotly_white")
    differing = set(result.differing_params())
    page = Page("Run comparison", kind="compare", subtitle=", ".join(names))
    page.section().figure(fig)
    page.section("Params (highlighted: differ)").table(
        ["param", *names],
        [[key, *values] for key, values in result.params.items()],
        flagged=[key in differing for key in result.params],
    )
    return page


def write_html(result: Comparison, path: str | Path) -> Path:
    """Deprecated (the quickstart once showed it): `compare_page(result).write_html(path)`."""
    warnings.warn(
        "knot.tracking.compare.compare_html.write_html is deprecated; use "
        "compare_page(result).write_html(path)",
        DeprecationWarning,
        stacklevel=2,
    )
    return compare_page(result).write_html(path)
