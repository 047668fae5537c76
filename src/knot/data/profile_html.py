"""A profile as a picture: a page of the report shell (knot.page) with a table of
statistics and a Plotly chart per column (the histogram for numbers, the top values for
text)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from knot.data.profile import ColumnProfile, Profile
from knot.page import Page

__all__ = ["profile_page", "write_profile_html"]


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _chart(column: ColumnProfile) -> Any:
    import plotly.graph_objects as go

    if column.histogram is not None:
        h = column.histogram
        centers = [(lo + hi) / 2 for lo, hi in zip(h.edges, h.edges[1:], strict=False)]
        widths = [hi - lo for lo, hi in zip(h.edges, h.edges[1:], strict=False)]
        fig = go.Figure(go.Bar(x=centers, y=h.counts, width=widths or None, marker_color="#4c78a8"))
        fig.update_xaxes(title=column.name)
    elif column.top:
        fig = go.Figure(
            go.Bar(
                x=[t.count for t in column.top][::-1],
                y=[t.value for t in column.top][::-1],
                orientation="h",
                marker_color="#f58518",
            )
        )
        fig.update_xaxes(title="rows")
    else:
        return None
    fig.update_layout(
        title=f"{column.name} ({column.type})",
        height=280,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        template="plotly_white",
    )
    return fig


def profile_page(profile: Profile, title: str = "Dataset profile") -> Page:
    """The statistics table, then a chart per column."""
    heads = ["column", "type", "count", "nulls", "distinct", "min", "max", "mean", "std", "p50"]
    rows = [
        [
            _fmt(v)
            for v in (
                c.name,
                c.type,
                c.count,
                f"{c.nulls:,} ({c.null_fraction:.1%})",
                c.distinct,
                c.min,
                c.max,
                c.mean,
                c.std,
                c.quantiles.get("0.5"),
            )
        ]
        for c in profile.columns
    ]
    page = Page(
        title,
        kind="profile",
        subtitle=f"{profile.rows:,} rows, {len(profile.columns)} columns. "
        "Distinct counts are HyperLogLog estimates.",
    )
    page.section().table(heads, rows, numbers=True)
    charts = page.section("Columns", grid=True)
    for c in profile.columns:
        chart = _chart(c)
        if chart is not None:
            charts.figure(chart)
    return page


def write_profile_html(profile: Profile, path: str | Path, title: str = "Dataset profile") -> Path:
    """Deprecated (the examples once showed it): `profile_page(...).write_html(path)`."""
    warnings.warn(
        "write_profile_html is deprecated; use profile_page(profile, title).write_html(path)",
        DeprecationWarning,
        stacklevel=2,
    )
    return profile_page(profile, title).write_html(path)
