"""Monitoring per model, from the results `knot monitor` stored in the server's
database: drift per feature over time (a heatmap), prediction and score drift and the
performance of each version over time, training/serving skew of a model served from a
feature service, alerts and their events, the retrain loop's state
and its history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from knot.loop.state import list_retrains, read_state
from knot.monitoring.results import ResultPoint
from knot.monitoring.sql_store import SqlMonitoring
from knot.server.ui import stores
from knot.server.ui.render import page, render
from knot.server.ui.session import visitor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_OWN = ("drift.share", "drift.prediction", "drift.score")


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _heatmap(points: list[ResultPoint]) -> dict[str, Any] | None:
    drift = [p for p in points if p.metric.startswith("drift.") and p.metric not in _OWN]
    if not drift:
        return None
    features = sorted({p.metric.removeprefix("drift.") for p in drift})
    starts = sorted({p.window_start for p in drift})
    cell = {(p.metric.removeprefix("drift."), p.window_start): p.value for p in drift}
    z = [[cell.get((f, s)) for s in starts] for f in features]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [_when(s) for s in starts],
                "y": features,
                "z": z,
                "colorscale": "YlOrRd",
                "colorbar": {"title": {"text": "drift"}},
            }
        ],
        "layout": {
            "title": {"text": "Drift per feature by window"},
            "height": 120 + 26 * len(features),
            "margin": {"l": 140, "r": 20, "t": 40, "b": 60},
        },
    }


def _lines(points: list[ResultPoint], title: str) -> dict[str, Any] | None:
    series: dict[str, list[ResultPoint]] = defaultdict(list)
    for p in points:
        series[f"{p.metric} v{p.version}"].append(p)
    if not series:
        return None
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [_when(p.window_start) for p in found],
            "y": [p.value for p in found],
        }
        for name, found in sorted(series.items())
    ]
    layout = {"title": {"text": title}, "height": 340, "margin": {"t": 40, "b": 60}}
    return {"data": data, "layout": layout}


@router.get("/ui/monitoring")
@page
def overview(request: Request) -> Response:
    who = visitor(request)
    models = stores.registry(request).list_models()
    return render(request, "monitoring.html", who=who, models=models)


@router.get("/ui/monitoring/{name}")
@page
def model_monitoring(request: Request, name: str) -> Response:
    who = visitor(request)
    found = stores.registry(request).get_model(name)
    db = stores.sql_db(request)
    monitoring = SqlMonitoring(db)
    points = monitoring.read_results(name)
    events = monitoring.alert_events(name)
    own = [p for p in points if p.metric in _OWN]
    performance = [p for p in points if not p.metric.startswith(("drift.", "skew."))]
    skew = [p for p in points if p.metric.startswith("skew.") and p.metric != "skew.rows"]
    charts = [
        c
        for c in (
            _heatmap(points),
            _lines(own, "Share of drifted features, prediction and score drift"),
            _lines(performance, "Performance by version over time"),
            _lines(skew, "Training/serving skew: share of served rows that differ"),
        )
        if c is not None
    ]
    return render(
        request,
        "model_monitoring.html",
        who=who,
        model=found,
        charts=charts,
        events=list(reversed(events))[:100],
        loop=read_state(db, name),
        retrains=list(reversed(list_retrains(db, name)))[:50],
    )
