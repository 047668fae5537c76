"""A `knot check` report as a picture: a page of the report shell (knot.page) with, per
gate, what was measured: challenger against champion for each comparison of a quality
gate, the rate of each group (and the allowed gap) for a fairness gate, and the failing
rules of a data gate."""

from __future__ import annotations

from typing import Any

from knot.gates.report import CheckReport, GateResult
from knot.page import Html, Page, escape

__all__ = ["check_page"]


def _quality(fig: Any, row: int, gate: GateResult) -> None:
    import plotly.graph_objects as go

    comparisons = gate.data.get("comparisons", [])
    labels = [
        f"{c['role']} {c['metric']}" + (f" {c['segment']}" if c["segment"] else "")
        for c in comparisons
    ]
    colors = ["#2e7d32" if c["passed"] else "#c62828" for c in comparisons]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[c["champion"] for c in comparisons],
            name="champion",
            marker_color="#90a4ae",
            showlegend=row == 1,
        ),
        row=row,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[c["challenger"] for c in comparisons],
            name="challenger",
            marker_color=colors,
            showlegend=row == 1,
        ),
        row=row,
        col=1,
    )


def _fairness(fig: Any, row: int, gate: GateResult) -> None:
    import plotly.graph_objects as go

    groups = gate.data.get("groups", [])
    fig.add_trace(
        go.Bar(
            x=[g["group"] for g in groups],
            y=[g["rate"] for g in groups],
            text=[f"{g['rows']} rows" for g in groups],
            marker_color="#2e7d32" if gate.passed else "#c62828",
            showlegend=False,
        ),
        row=row,
        col=1,
    )


def _data(fig: Any, row: int, gate: GateResult) -> None:
    import plotly.graph_objects as go

    results = gate.data.get("results", [])
    fig.add_trace(
        go.Bar(
            x=[r["name"] for r in results],
            y=[r.get("failing") or 0 for r in results],
            marker_color=["#c62828" if r["status"] == "failed" else "#2e7d32" for r in results],
            showlegend=False,
        ),
        row=row,
        col=1,
    )


def check_page(report: CheckReport) -> Page:
    """What each gate measured, drawn, then each gate's verdict and details."""
    from plotly.subplots import make_subplots

    gates = report.gates
    titles = [f"{'passed' if g.passed else 'FAILED'}: {g.name}" for g in gates] or ["no gates"]
    fig = make_subplots(rows=max(1, len(gates)), cols=1, subplot_titles=titles)
    draw = {"quality": _quality, "fairness": _fairness, "data": _data}
    for row, gate in enumerate(gates, start=1):
        draw[gate.kind](fig, row, gate)
    fig.update_layout(
        height=320 * max(1, len(gates)),
        barmode="group",
        template="plotly_white",
        title=f"knot check: {report.config}",
    )
    verdict = "all gates passed" if report.passed else f"{len(report.failed)} gate(s) failed"
    page = Page(f"knot check: {verdict}", kind="check", subtitle=f"config {report.config}")
    page.section().figure(fig)
    page.section("Gates").bullets(
        (
            Html(
                f"<b>{'passed' if g.passed else 'FAILED'}</b> {escape(g.name)}: {escape(g.summary)}"
            ),
            g.details,
        )
        for g in gates
    )
    return page
