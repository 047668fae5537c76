"""An execution as a picture: a page of the report shell (knot.page).

One bar per step on a time axis from the execution's first start, coloured by status
(ran, cached, failed, skipped), so steps that ran side by side overlap; hovering a bar
shows its seconds, attempts, cache key, the steps it read and its run id.
"""

from __future__ import annotations

import html

from knot.page import Page
from knot.pipelines.result import PipelineResult

__all__ = ["pipeline_page"]

_COLOURS = {"ran": "#2a9d8f", "cached": "#8ecae6", "failed": "#e76f51", "skipped": "#bbbbbb"}


def pipeline_page(result: PipelineResult) -> Page:
    """`result`'s steps on a timeline."""
    import plotly.graph_objects as go

    starts = [s.started_at for s in result.steps if s.started_at is not None]
    origin = min(starts, default=0)
    fig = go.Figure()
    for status, colour in _COLOURS.items():
        steps = [s for s in result.steps if s.status == status]
        if not steps:
            continue
        fig.add_trace(
            go.Bar(
                name=status,
                orientation="h",
                y=[s.name for s in steps],
                base=[((s.started_at or origin) - origin) / 1000 for s in steps],
                # a cached step takes milliseconds: keep its bar visible
                x=[max(s.seconds, 0.002) for s in steps],
                marker={"color": colour},
                hovertext=[
                    "<br>".join(
                        [
                            f"<b>{html.escape(s.name)}</b> {s.status}",
                            f"{s.seconds:.3f} s, {s.attempts} attempt(s)",
                            f"reads: {html.escape(', '.join(s.upstream) or '-')}",
                            f"run: {s.run_id or '-'}",
                            f"cache key: {(s.cache_key or '-')[:16]}",
                            html.escape(s.error or ""),
                        ]
                    )
                    for s in steps
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=html.escape(result.summary()),
        template="plotly_white",
        barmode="overlay",
        height=max(320, 28 * len(result.steps) + 160),
        xaxis={"title": {"text": "seconds since the first step started"}},
        yaxis={"autorange": "reversed", "categoryorder": "array",
               "categoryarray": [s.name for s in result.steps]},
        legend={"title": {"text": "status"}},
    )  # fmt: skip
    page = Page(
        f"Pipeline {result.pipeline} run {result.run_id}",
        kind="pipeline",
        subtitle=f"{result.summary()}, executor {result.executor}.",
    )
    page.section().figure(fig)
    return page
