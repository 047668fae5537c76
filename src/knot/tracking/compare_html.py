"""Run comparison as a picture: one self-contained HTML page (Plotly, offline bundle)."""

from __future__ import annotations

import html
from pathlib import Path

from knot.tracking.compare import Comparison

__all__ = ["write_html"]


def write_html(result: Comparison, path: str | Path) -> Path:
    """Bar charts of each metric per run, plus the params table, in one HTML file."""
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
    chart = fig.to_html(full_html=False, include_plotlyjs=True)
    differing = set(result.differing_params())
    header = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        f"<tr{' class=diff' if key in differing else ''}><td>{html.escape(key)}</td>"
        + "".join(f"<td>{html.escape(v or '')}</td>" for v in values)
        + "</tr>"
        for key, values in result.params.items()
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Knot run comparison</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}tr.diff td{{background:#fff3cd}}</style></head>
<body><h1>Run comparison</h1>{chart}<h2>Params (highlighted: differ)</h2>
<table><tr><th>param</th>{header}</tr>{body}</table></body></html>"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
