"""An execution as a picture: one self-contained HTML page (Plotly, offline bundle).

One bar per step on a time axis from the execution's first start, coloured by status
(ran, cached, failed, skipped), so steps that ran side by side overlap; hovering a bar
shows its seconds, attempts, cache key, the steps it read and its run id.
"""

from __future__ import annotations

import html
from pathlib import Path

from knot.pipelines.result import PipelineResult

__all__ = ["write_html"]

_COLOURS = {"ran": "#2a9d8f", "cached": "#8ecae6", "failed": "#e76f51", "skipped": "#bbbbbb"}


def write_html(result: PipelineResult, path: str | Path) -> Path:
    """Draw `result`'s steps into an HTML file at `path` and return the path."""
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
    chart = fig.to_html(full_html=False, include_plotlyjs=True)
    title = html.escape(f"{result.pipeline} run {result.run_id}")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Knot pipeline: {title}
</title><style>body{{font-family:sans-serif;margin:2em}}</style></head>
<body><h1>Pipeline {title}</h1><p>{html.escape(result.summary())}, executor
{html.escape(result.executor)}.</p>{chart}</body></html>"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
