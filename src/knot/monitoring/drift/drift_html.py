"""A drift report as a picture: a page of the report shell (knot.page) with the
per-column table and, per column, reference vs current distributions (shares per bin
for numbers, per category for the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from knot.page import Page

if TYPE_CHECKING:
    # the report's methods draw it with this module: naming it at run time would loop
    from knot.monitoring.drift.report import ColumnDrift, DriftReport

__all__ = ["drift_page"]

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


def _chart(column: ColumnDrift) -> Any:
    import plotly.graph_objects as go

    d = column.distribution
    if d is None:
        return None
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
    return fig


def _row(c: ColumnDrift) -> list[str]:
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
    return [_fmt(v) for v in cells]


def drift_page(report: DriftReport, title: str = "Data drift") -> Page:
    """The per-column table, then reference vs current distributions of every column."""
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
    verdict = "Dataset drift detected" if report.dataset_drifted else "No dataset drift"
    summary = (
        f"{verdict}: {len(report.drifted_columns)} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}; the dataset drifts at {report.drift_share:.0%}). "
        f"Reference {report.reference_rows:,} rows, current {report.current_rows:,} rows."
    )
    if report.prediction is not None:
        summary += f" Prediction drift: {'yes' if report.prediction.drifted else 'no'}."
    page = Page(title, kind="drift", subtitle=summary)
    page.section().table(
        heads, [_row(c) for c in shown], flagged=[c.drifted for c in shown], numbers=True
    )
    if report.warnings:
        page.section("Warnings").bullets(report.warnings)
    charts = page.section("Distributions", grid=True)
    for c in shown:
        chart = _chart(c)
        if chart is not None:
            charts.figure(chart)
    return page
