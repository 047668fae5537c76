"""A model card as a page of the report shell (knot.page): the card's sections as
tables, and its metrics as a Plotly bar chart."""

from __future__ import annotations

import math
from typing import Any

from knot.page import Page
from knot.registry.cards.content import Card

__all__ = ["card_page"]


def _chart(metrics: dict[str, float]) -> Any:
    shown = {k: v for k, v in metrics.items() if not math.isnan(v) and not math.isinf(v)}
    if not shown:
        return None
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(x=list(shown), y=list(shown.values()), text=[f"{v:.4g}" for v in shown.values()])
    )
    fig.update_layout(
        title="Latest metrics of the training run", height=360, template="plotly_white"
    )
    return fig


def card_page(card: Card) -> Page:
    """The summary, the metrics chart, then every section of `card`."""
    page = Page(card.title, kind="model-card", subtitle=card.summary)
    chart = _chart(card.metrics)
    if chart is not None:
        page.section().figure(chart)
    for section in card.sections:
        shown = page.section(section.title)
        if section.text:
            shown.text(section.text)
        if section.columns:
            shown.table(section.columns, section.rows)
    return page
