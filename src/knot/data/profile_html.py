"""A profile as a picture: one self-contained HTML page with a Plotly chart per column
(the histogram for numbers, the top values for text) and a table of statistics."""

from __future__ import annotations

import html
from pathlib import Path

from knot.data.profile import ColumnProfile, Profile

__all__ = ["write_profile_html"]


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _chart(column: ColumnProfile, first: bool) -> str:
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
        return ""
    fig.update_layout(
        title=f"{column.name} ({column.type})",
        height=280,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        template="plotly_white",
    )
    return fig.to_html(full_html=False, include_plotlyjs=first)


def write_profile_html(profile: Profile, path: str | Path, title: str = "Dataset profile") -> Path:
    """Write the page to `path` (its folder is created) and return the path."""
    heads = ["column", "type", "count", "nulls", "distinct", "min", "max", "mean", "std", "p50"]
    rows = []
    for c in profile.columns:
        cells = [
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
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in cells) + "</tr>")
    charts, first = [], True
    for c in profile.columns:
        chart = _chart(c, first)
        if chart:
            charts.append(f"<div class=chart>{chart}</div>")
            first = False
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
.charts{{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1em}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{profile.rows:,} rows, {len(profile.columns)}
columns. Distinct counts are HyperLogLog estimates.</p>
<table><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr>{"".join(rows)}</table>
<h2>Columns</h2><div class=charts>{"".join(charts)}</div></body></html>"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
