"""The monitoring report as a picture: a page of the report shell (knot.page) with
each feature's reference vs current distribution for the newest window (then the
prediction's and the score's, against the version's own outputs on the reference),
every stored metric over time per version (rule thresholds drawn in), and the alert
timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knot.monitoring.alerts.events import AlertEvent
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.drift.report import ColumnDrift
from knot.monitoring.monitor_run import WindowDrift
from knot.monitoring.results import ResultPoint
from knot.page import Page

__all__ = ["monitor_page", "monitor_report"]

_REFERENCE, _CURRENT = "#4c78a8", "#f58518"
_STATES = {"fired": "#d62728", "resolved": "#2ca02c"}
_OWN_PANEL = ("drift.share", "drift.prediction", "drift.score")


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _drift_figure(latest: WindowDrift) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    outputs = [latest.report.prediction, latest.score]
    shown = [
        c
        for c in [*latest.report.columns, *outputs]
        if c is not None and c.distribution is not None
    ]
    cols = 2 if len(shown) > 1 else 1
    rows = max(1, -(-len(shown) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_title(c) for c in shown] or [""])
    for i, column in enumerate(shown):
        d = column.distribution
        assert d is not None
        r, c = i // cols + 1, i % cols + 1
        if d.edges is not None:
            x: Sequence[Any] = [
                f"{a:.3g}..{b:.3g}" for a, b in zip(d.edges, d.edges[1:], strict=False)
            ]
        else:
            x = d.categories or []
        for name, shares, color in (
            ("reference", d.reference, _REFERENCE),
            ("current", d.current, _CURRENT),
        ):
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=shares,
                    name=name,
                    marker_color=color,
                    showlegend=i == 0,
                    legendgroup=name,
                ),
                row=r,
                col=c,
            )
    fig.update_layout(
        barmode="group",
        height=300 * rows,
        template="plotly_white",
        title=f"Drift per feature: version {latest.version}, window from "
        f"{_time(latest.window_start):%Y-%m-%d %H:%M} UTC, against {latest.reference}",
    )
    return fig


def _title(c: ColumnDrift) -> str:
    verdict = "drifted" if c.drifted else "ok"
    return f"{c.column}: {verdict} ({c.test} {c.score:.3g})" if c.score is not None else c.column


def _metrics_figure(points: list[ResultPoint], rules: list[AlertRule]) -> Any:
    """One panel per metric (one line per version); the per-feature drift statistics
    share one panel, one line per feature and version (prediction and score drift have
    panels of their own, as rules use them)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels: dict[str, dict[str, list[ResultPoint]]] = defaultdict(lambda: defaultdict(list))
    for p in points:
        if p.value is None or p.metric == "drift.dataset":
            continue
        per_feature = p.metric.startswith("drift.") and p.metric not in _OWN_PANEL
        panel = "drift statistic per feature" if per_feature else p.metric
        label = (
            f"{p.metric.removeprefix('drift.')} v{p.version}" if per_feature else f"v{p.version}"
        )
        panels[panel][label].append(p)
    names = sorted(panels)
    fig = make_subplots(
        rows=max(1, len(names)),
        cols=1,
        subplot_titles=names or ["no results stored yet: run `knot monitor run`"],
        shared_xaxes=True,
    )
    for i, panel in enumerate(names, start=1):
        for label, found in sorted(panels[panel].items()):
            fig.add_trace(
                go.Scatter(
                    x=[_time(p.window_start) for p in found],
                    y=[p.value for p in found],
                    mode="lines+markers",
                    name=f"{panel}: {label}",
                ),
                row=i,
                col=1,
            )
        for rule in rules:
            if rule.metric == panel:
                fig.add_hline(
                    y=rule.threshold,
                    line_dash="dash",
                    line_color="#d62728",
                    annotation_text=f"{rule.name}: {rule.op} {rule.threshold:g}",
                    row=i,
                    col=1,
                )
    fig.update_layout(
        height=max(300, 220 * len(names)),
        template="plotly_white",
        title="Metrics over time (per window and version)",
    )
    return fig


def _alerts_figure(events: list[AlertEvent]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for state, color in _STATES.items():
        shown = [e for e in events if e.state == state]
        fig.add_trace(
            go.Scatter(
                x=[_time(e.window_start) for e in shown],
                y=[e.rule for e in shown],
                mode="markers",
                marker={
                    "color": color,
                    "size": 12,
                    "symbol": "diamond" if state == "fired" else "circle",
                },
                name=state,
                text=[
                    f"{e.metric} = {e.value:.4g} (threshold {e.threshold:g}), v{e.version}"
                    if e.value is not None
                    else e.metric
                    for e in shown
                ],
                hoverinfo="text+x",
            )
        )
    fig.update_layout(
        height=max(250, 60 * len({e.rule for e in events}) + 150),
        template="plotly_white",
        title="Alert timeline (window of each event)",
    )
    return fig


def monitor_report(
    model: str, path: str | Path, *, window: str | None = None, root: Path | None = None
) -> Path:
    """The report of `model` from its stored results, events and rules, plus the drift
    of its newest window (computed now, with the distributions to draw)."""
    from knot.monitoring.alerts.events import alert_events, list_alert_rules
    from knot.monitoring.monitor_config import get_monitor_settings
    from knot.monitoring.monitor_run import DEFAULT_WINDOW, latest_drift
    from knot.monitoring.results import read_results
    from knot.monitoring.windows import parse_window

    size = window or get_monitor_settings(model).window or DEFAULT_WINDOW
    parse_window(size)
    rules = list_alert_rules(model)
    page = monitor_page(
        model,
        latest=latest_drift(model, size, root),
        points=read_results(model, window=size),
        rules=[r for r in rules if r.window == size],
        events=alert_events(model),
    )
    return page.write_html(path)


def monitor_page(
    model: str,
    *,
    latest: WindowDrift | None,
    points: list[ResultPoint],
    rules: list[AlertRule],
    events: list[AlertEvent],
) -> Page:
    """Drift of the newest window, metrics over time, the alert timeline, then the
    events as a table."""
    page = Page(f"Monitoring: {model}", kind="monitoring")
    charts = page.section()
    if latest is None:
        charts.text(
            "No drift to show: no window with both a reference and logged features.",
            style="note",
        )
    else:
        charts.figure(_drift_figure(latest))
    charts.figure(_metrics_figure(points, rules)).figure(_alerts_figure(events))
    page.section("Alert events").table(
        ["rule", "event", "window", "metric", "value", "threshold", "webhook"],
        [
            [
                e.rule,
                e.state,
                f"{_time(e.window_start):%Y-%m-%d %H:%M}",
                e.metric,
                "" if e.value is None else f"{e.value:.4g}",
                f"{e.threshold:g}",
                e.webhook_status or "",
            ]
            for e in events
        ],
        flagged=[e.state == "fired" for e in events],
    )
    return page
