"""Compare 2-20 runs: one metric's step curves overlaid, parallel coordinates over the
parameters that differ and the final metrics, a parameter-vs-metric scatter and the
table of parameters with the differing rows flagged. Only the chosen metric's points
are read, in one query for all runs, thinned to what the chart can show."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from knot.errors import Invalid
from knot.server.ui import stores
from knot.server.ui.render import page, render
from knot.server.ui.runs_pages import MAX_POINTS, step_chart
from knot.server.ui.session import visitor
from knot.tracking.entities import Run

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_RUNS = 20
# points on the overlaid step chart, all curves together: a browser draws a chart of
# SVG lines in time proportional to its points, so ten runs share what one would get
CHART_POINTS = 6000


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


_COLORS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]  # viridis, low to high


def _dimension(runs: list[Run], key: str, metric: bool) -> tuple[list[float | None], list[str]]:
    """A dimension's values per run (None where missing) and, for a categorical
    parameter, the category of each position (else empty)."""
    if metric:
        values = [r.metric(key) for r in runs]
        return [v if math.isfinite(v) else None for v in values], []
    numbers = [_number(r.params.get(key)) for r in runs]
    if all(v is not None for v in numbers):
        return numbers, []
    labels = sorted({r.params.get(key, "") for r in runs})
    return [float(labels.index(r.params.get(key, ""))) for r in runs], labels


def _parallel(runs: list[Run], params: list[str], metrics: list[str], color: str | None) -> Any:
    """Parallel coordinates drawn as SVG lines, one per run over axes scaled to 0-1
    (Plotly's own parcoords needs WebGL, which takes seconds without a GPU)."""
    axes = [(k, False) for k in params] + [(k, True) for k in metrics[:8]]
    columns = [(label, *_dimension(runs, label, metric)) for label, metric in axes]
    scaled: list[list[float | None]] = []
    annotations: list[dict[str, Any]] = []
    for x, (_label, values, categories) in enumerate(columns):
        known = [v for v in values if v is not None]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        span = (high - low) or 1.0
        scaled.append([None if v is None else (v - low) / span for v in values])
        ends = (categories[0], categories[-1]) if categories else (f"{low:.4g}", f"{high:.4g}")
        annotations += [
            {"x": x, "y": -0.08, "text": ends[0], "showarrow": False, "font": {"size": 10}},
            {"x": x, "y": 1.08, "text": ends[1], "showarrow": False, "font": {"size": 10}},
        ]
    shade = _dimension(runs, color, True)[0] if color is not None else [None] * len(runs)
    known = [v for v in shade if v is not None]
    data = []
    for i, run in enumerate(runs):
        value = shade[i]
        tone = _COLORS[0]
        if value is not None and known and max(known) > min(known):
            share = (value - min(known)) / (max(known) - min(known))
            tone = _COLORS[min(len(_COLORS) - 1, int(share * len(_COLORS)))]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": run.name,
                "x": list(range(len(columns))),
                "y": [column[i] for column in scaled],
                "line": {"color": tone},
                "text": [f"{label}: {values[i]}" for label, values, _ in columns],
                "hovertemplate": "%{text}<extra>" + run.name.replace("<", "") + "</extra>",
                "customdata": [f"/ui/runs/{run.run_id}"] * len(columns),
            }
        )
    layout = {
        "title": {"text": "Parallel coordinates" + (f" (color: {color})" if color else "")},
        "height": 380,
        "showlegend": False,
        "annotations": annotations,
        "xaxis": {"tickvals": list(range(len(columns))), "ticktext": [c[0] for c in columns]},
        "yaxis": {"visible": False, "range": [-0.15, 1.15]},
        "shapes": [
            {"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "line": {"color": "#999"}}
            for x in range(len(columns))
        ],
    }
    return {"data": data, "layout": layout}


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
        # one query for every run's points, thinned in the store to what the chart shows
        per_run = min(MAX_POINTS, max(200, CHART_POINTS // len(ids)))
        histories = store.metric_histories(ids, chosen_metric, per_run)
        series = [(r.name, histories[r.run_id]) for r in runs]
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
