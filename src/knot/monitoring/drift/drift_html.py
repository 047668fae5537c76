"""A drift report as a picture: one self-contained HTML page (plotly.js inline, works
offline) with the per-column table and, per column, reference vs current
distributions (shares per bin for numbers, per category for the rest)."""

from __future__ import annotations

import html
from pathlib import Path

from knot.monitoring.drift.report import ColumnDrift, DriftReport

__all__ = ["write_drift_html"]

REFERENCE_COLOR = "#4c78a8"
CURRENT_COLOR = "#f58518"


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _chart(column: ColumnDrift, first: bool) -> str:
    import plotly.graph_objects as go

    d = column.distribution
    if d is None:
        return ""
    fig = go.Figure()
    if d.edges is not None:
        centers = [(a + b) / 2 for a, b in zip(d.edges, d.edges[1:], strict=False)]
        widths = [b - a for a, b in zip(d.edges, d.edges[1:], strict=False)]
        for name, shares, color in (
            ("reference", d.reference, REFERENCE_COLOR),
            ("current", d.current, CURRENT_COLOR),
        ):
            fig.add_bar(
                x=centers, y=shares, width=widths, name=name, marker_color=color, opacity=0.6
            )
        fig.update_layout(barmode="overlay")
        fig.update_xaxes(title=column.column)
    else:
        for name, shares, color in (
            ("reference", d.reference, REFERENCE_COLOR),
            ("current", d.current, CURRENT_COLOR),
        ):
            fig.add_bar(x=d.categories, y=shares, name=name, marker_color=color)
        fig.update_layout(barmode="group")
    verdict = "drifted" if column.drifted else "no drift"
    score = "p" if column.p_value is not None else column.test
    fig.update_layout(
        title=f"{column.column}: {verdict} ({score} = {_fmt(column.score)})",
        height=300,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        template="plotly_white",
        yaxis_title="share of rows",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig.to_html(full_html=False, include_plotlyjs=first)


def _row(c: ColumnDrift) -> str:
    cells = [
        c.column,
        c.kind,
        c.test + (" (approx.)" if c.approximate else ""),
        c.statistic,
        c.p_value,
        c.threshold,
        c.drifted,
        f"{c.missing_share_ref:.1%} / {c.missing_share_cur:.1%}",
        ", ".join(c.new_categories),
    ]
    style = ' class="drifted"' if c.drifted else ""
    return f"<tr{style}>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in cells) + "</tr>"


def write_drift_html(report: DriftReport, path: str | Path, title: str = "Data drift") -> Path:
    """Write the page to `path` (its folder is created) and return the path."""
    heads = [
        "column",
        "kind",
        "test",
        "statistic",
        "p-value",
        "threshold",
        "drifted",
        "missing ref / cur",
        "new categories",
    ]
    shown = [*report.columns, *([report.prediction] if report.prediction else [])]
    rows = "".join(_row(c) for c in shown)
    charts, first = [], True
    for c in shown:
        chart = _chart(c, first)
        if chart:
            charts.append(f"<div class=chart>{chart}</div>")
            first = False
    verdict = "Dataset drift detected" if report.dataset_drifted else "No dataset drift"
    summary = (
        f"{verdict}: {len(report.drifted_columns)} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}; the dataset drifts at {report.drift_share:.0%}). "
        f"Reference {report.reference_rows:,} rows, current {report.current_rows:,} rows."
    )
    if report.prediction is not None:
        summary += f" Prediction drift: {'yes' if report.prediction.drifted else 'no'}."
    notes = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
    warnings = f"<h2>Warnings</h2><ul>{notes}</ul>" if notes else ""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
tr.drifted td{{background:#fde2e1}}
.charts{{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:1em}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>
<table><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr>{rows}</table>{warnings}
<h2>Distributions</h2><div class=charts>{"".join(charts)}</div></body></html>"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
