"""A model card as one self-contained HTML page: the card's sections as tables, and its
metrics as a Plotly bar chart (offline bundle, so it opens without a network)."""

from __future__ import annotations

import html
import math

from knot.registry.cards.content import Card, Section

__all__ = ["render_html"]

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;font-size:.92em}th{background:#f4f4f4}.summary{color:#555}
code{background:#f4f4f4;padding:0 .2em}"""


def _section(section: Section) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{html.escape(section.text)}</p>")
    if section.columns:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in section.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in section.rows
        )
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
    return "\n".join(parts)


def _chart(metrics: dict[str, float]) -> str:
    shown = {k: v for k, v in metrics.items() if not math.isnan(v) and not math.isinf(v)}
    if not shown:
        return ""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(x=list(shown), y=list(shown.values()), text=[f"{v:.4g}" for v in shown.values()])
    )
    fig.update_layout(
        title="Latest metrics of the training run", height=360, template="plotly_white"
    )
    return fig.to_html(full_html=False, include_plotlyjs=True)


def render_html(card: Card) -> str:
    sections = "\n".join(_section(s) for s in card.sections)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(card.title)}</title><style>{_STYLE}</style></head>
<body><h1>{html.escape(card.title)}</h1><p class="summary">{html.escape(card.summary)}</p>
{_chart(card.metrics)}
{sections}
</body></html>
"""
