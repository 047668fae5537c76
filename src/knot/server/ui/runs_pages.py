"""Experiments, the runs table and a run's page. The runs table pages, sorts and
filters in SQL through the tracking store's search (the grammar of `knot runs list`),
so it reads one page of runs however many the experiment holds."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from knot.errors import Invalid
from knot.server.ui import stores
from knot.server.ui.params import bounded_int
from knot.server.ui.render import page, render
from knot.server.ui.session import visitor
from knot.tracking.entities import MetricSeries, Run

__all__ = ["MAX_POINTS", "router", "step_chart"]

router = APIRouter(include_in_schema=False)

ATTRIBUTE_COLUMNS = ("name", "status", "user", "start_time")
DEFAULT_SIZE = 50
# points per curve on a chart: a chart is ~1,000 pixels wide, and thinning keeps a
# bucket's lowest and highest value, so this is about two points per pixel column
MAX_POINTS = 1000
_PREFIXES = ("metrics.", "params.", "tags.")


@router.get("/")
@router.get("/ui")
@router.get("/ui/")
@router.get("/ui/experiments")
@page
def experiments(request: Request) -> Response:
    who = visitor(request)
    found = stores.tracking(request).list_experiments()
    return render(request, "experiments.html", who=who, experiments=found)


def _columns(chosen: list[str], runs: list[Run]) -> tuple[list[str], list[str]]:
    """(shown, offered): the chosen columns, or by default the first metrics and params
    the page's runs carry; offered are the keys on this page plus the chosen ones, so the
    chooser never reads every run's keys."""
    for column in chosen:
        if not column.startswith(_PREFIXES) or len(column) > 260:
            raise Invalid(
                f"column {column[:60]!r} is not metrics.KEY, params.KEY or tags.KEY; pick "
                "columns with the column chooser",
                field="cols",
            )
    metrics = sorted({k for r in runs for k in r.metrics})
    params = sorted({k for r in runs for k in r.params})
    tags = sorted({k for r in runs for k in r.tags if not k.startswith("knot.")})
    offered = [f"metrics.{k}" for k in metrics] + [f"params.{k}" for k in params]
    offered += [f"tags.{k}" for k in tags]
    offered += [c for c in chosen if c not in offered]
    shown = chosen or ([f"metrics.{k}" for k in metrics[:6]] + [f"params.{k}" for k in params[:4]])
    return shown, offered


def cell(run: Run, column: str) -> Any:
    entity, _, key = column.partition(".")
    if entity == "metrics":
        summary = run.metrics.get(key)
        return summary.latest if summary else None
    if entity == "params":
        return run.params.get(key)
    return run.tags.get(key)


@router.get("/ui/experiments/{experiment_id}")
@page
def runs_table(
    request: Request,
    experiment_id: str,
    filter: str | None = None,
    order: str | None = None,
    page_token: Annotated[str | None, Query(alias="page")] = None,
    size: str | None = None,
    cols: Annotated[list[str] | None, Query()] = None,
) -> Response:
    who = visitor(request)
    store = stores.tracking(request)
    experiment = store.get_experiment(experiment_id)
    per_page = bounded_int("size", size, DEFAULT_SIZE, 1, 1000)
    chosen = [c for c in (cols or []) if c]
    state = {"filter": filter or "", "order": order or "", "size": str(per_page)}
    error = None
    try:
        found = store.search_runs(
            [experiment_id],
            filter=filter,
            order_by=[order] if order else None,
            max_results=per_page,
            page_token=page_token,
        )
        runs, next_token = found.runs, found.next_page_token
    except Invalid as exc:
        # the table stays on the page with what went wrong above it, as 422
        error, runs, next_token = exc.message, [], None
    shown, offered = _columns(chosen, runs)

    def link(**changes: str | None) -> str:
        query: list[tuple[str, str]] = [
            (k, v) for k, v in {**state, **changes}.items() if v is not None and v != ""
        ]
        query += [("cols", c) for c in chosen]
        return f"/ui/experiments/{experiment_id}?{urlencode(query)}"

    def sort_link(column: str) -> str:
        descending = order == f"{column} DESC"
        return link(order=f"{column} {'ASC' if descending else 'DESC'}", page=None)

    return render(
        request,
        "runs.html",
        status=422 if error else 200,
        who=who,
        experiment=experiment,
        runs=runs,
        shown=shown,
        offered=offered,
        chosen=chosen,
        cell=cell,
        state=state,
        error=error,
        next_link=link(page=next_token) if next_token else None,
        first_link=link(page=None) if page_token else None,
        sort_link=sort_link,
        attributes=ATTRIBUTE_COLUMNS,
    )


def step_chart(title: str, series: list[tuple[str, MetricSeries]]) -> dict[str, Any]:
    """A Plotly step curve per (name, series), overlaid. The store thinned each series
    (metric_histories) to about one point per pixel, and the figure carries them as
    plain x and y arrays, so a page of ten 10,000-step runs stays small and draws fast."""
    data = []
    thinned = False
    for name, points in series:
        thinned = thinned or len(points.steps) < points.count
        data.append(
            {
                "type": "scatter",
                "mode": "lines" if len(points.steps) > 60 else "lines+markers",
                "name": name,
                "x": points.steps,
                "y": points.values,
            }
        )
    suffix = " (min and max per step range)" if thinned else ""
    layout = {
        "title": {"text": title + suffix},
        "height": 300,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "step"}},
        "showlegend": len(series) > 1,
    }
    return {"data": data, "layout": layout}


@router.get("/ui/runs/{run_id}")
@page
def run_page(request: Request, run_id: str) -> Response:
    who = visitor(request)
    store = stores.tracking(request)
    run = store.get_run(run_id)
    keys = sorted(run.metrics)[:40]
    charts = [
        step_chart(key, [(key, store.metric_histories([run_id], key, MAX_POINTS)[run_id])])
        for key in keys
        if run.metrics[key].count > 1
    ]
    experiment = store.get_experiment(run.experiment_id)
    return render(
        request,
        "run.html",
        who=who,
        run=run,
        experiment=experiment,
        charts=charts,
        artifacts=store.list_artifacts(run_id),
    )
