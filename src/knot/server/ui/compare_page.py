"""Compare 2-20 runs: one metric's step curves overlaid, parallel coordinates over the
parameters that differ and the final metrics, a parameter-vs-metric scatter and the
table of parameters with the differing rows flagged. Only the chosen metric's points
are read, so ten runs of 10,000 steps stay one query each."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from knot.errors import Invalid
from knot.server.ui import stores
from knot.server.ui.render import page, render
from knot.server.ui.runs_pages import step_chart
from knot.server.ui.session import visitor
from knot.tracking.entities import Run

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_RUNS = 20


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _pick(name: str, asked: str | None, keys: list[str], preferred: str) -> str | None:
    if asked:
        if asked not in keys:
            raise Invalid(
                f"{name} {asked[:60]!r} is not one the compared runs share; pick one of: "
                f"{', '.join(keys[:20]) or '(none)'}",
                field=name,
            )
        return asked
    if preferred in keys:
        return preferred
    return keys[0] if keys else None


def _parallel(runs: list[Run], params: list[str], metrics: list[str], color: str | None) -> Any:
    dimensions = []
    for key in params:
        values = [_number(r.params.get(key)) for r in runs]
        if all(v is not None for v in values):
            dimensions.append({"label": key, "values": values})
        else:
            labels = sorted({r.params.get(key, "") for r in runs})
            index = {label: i for i, label in enumerate(labels)}
            dimensions.append(
                {
                    "label": key,
                    "values": [index[r.params.get(key, "")] for r in runs],
                    "tickvals": list(range(len(labels))),
                    "ticktext": labels,
                }
            )
    for key in metrics[:8]:
        dimensions.append({"label": key, "values": [r.metric(key) for r in runs]})
    line: dict[str, Any] = {}
    if color is not None:
        line = {"color": [r.metric(color) for r in runs], "colorscale": "Viridis"}
        line["showscale"] = True
    return {
        "data": [{"type": "parcoords", "dimensions": dimensions, "line": line}],
        "layout": {"height": 380, "margin": {"l": 60, "r": 60, "t": 50, "b": 30}},
    }


def _scatter(runs: list[Run], param: str, metric: str) -> Any:
    xs = [r.params.get(param) for r in runs]
    numeric = all(_number(x) is not None for x in xs)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [_number(x) for x in xs] if numeric else xs,
                "y": [r.metric(metric) for r in runs],
                "text": [r.name for r in runs],
                "textposition": "top center",
                "customdata": [f"/ui/runs/{r.run_id}" for r in runs],
            }
        ],
        "layout": {
            "title": {"text": f"{metric} by {param}"},
            "height": 360,
            "xaxis": {"title": {"text": param}},
            "yaxis": {"title": {"text": metric}},
        },
    }


@router.get("/ui/compare")
@page
def compare(
    request: Request,
    run: Annotated[list[str] | None, Query()] = None,
    metric: str | None = None,
    param: str | None = None,
) -> Response:
    who = visitor(request)
    ids = list(dict.fromkeys(r for r in (run or []) if r))
    if not 2 <= len(ids) <= MAX_RUNS:
        raise Invalid(
            f"compare takes 2 to {MAX_RUNS} runs, got {len(ids)}; tick them in a runs table "
            "and press Compare",
            field="run",
        )
    store = stores.tracking(request)
    runs = [store.get_run(i) for i in ids]
    metric_keys = sorted({k for r in runs for k in r.metrics})
    param_keys = sorted({k for r in runs for k in r.params})
    differing = [k for k in param_keys if len({r.params.get(k) for r in runs}) > 1]
    chosen_metric = _pick("metric", metric, metric_keys, "loss")
    chosen_param = _pick("param", param, differing or param_keys, "")
    figures = []
    if chosen_metric is not None:
        series = [(r.name, store.get_metric_history(r.run_id, chosen_metric)) for r in runs]
        figures.append(step_chart(chosen_metric, series))
    if differing or metric_keys:
        figures.append(_parallel(runs, differing, metric_keys, chosen_metric))
    if chosen_param is not None and chosen_metric is not None:
        figures.append(_scatter(runs, chosen_param, chosen_metric))
    rows = [(k, [r.params.get(k) for r in runs], k in differing) for k in param_keys]
    return render(
        request,
        "compare.html",
        who=who,
        runs=runs,
        charts=figures,
        metric=chosen_metric,
        param=chosen_param,
        metric_keys=metric_keys,
        param_keys=differing or param_keys,
        rows=rows,
    )
