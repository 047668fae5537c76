"""Logging to a run the MLflow way: one metric, param or tag per call, or a batch.
Each call is one Knot batch (one transaction), so what MLflow logs is a Knot run's
metric history, params and tags; a param logged again with another value is refused
(INVALID_PARAMETER_VALUE, as MLflow answers) because Knot's params are immutable too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from knot.errors import Invalid
from knot.server.mlflow import wire
from knot.server.mlflow.errors import not_supported
from knot.server.mlflow.routing import Call, route
from knot.server.mlflow.runs import run_id_of
from knot.tracking.entities import Batch

__all__ = ["router"]

router = APIRouter()
P = "/api/2.0/mlflow"
_PARAM_CLASH = "INVALID_PARAMETER_VALUE"
_MAX_BATCH = {"metrics": 1000, "params": 100, "tags": 100}
_LOW, _HIGH = -(2**63), 2**63  # a step or timestamp is a protobuf int64


def _metric(run_id: str, item: Call) -> tuple[str, str, float, int, int]:
    key = item.text("key")
    timestamp = item.integer("timestamp")
    if timestamp is None:
        raise Invalid(
            f"metric {key!r} has no timestamp; MLflow metrics carry one (milliseconds since "
            "the epoch)",
            field="timestamp",
        )
    return (run_id, key, item.number("value"), item.integer("step", 0) or 0, timestamp)


def _metrics(call: Call, run_id: str) -> list[tuple[str, str, float, int, int]]:
    """A batch's metrics. Well-typed points (what MLflow's client sends) take the short
    path, checked with exact type tests (a bool is not a number); anything else goes
    through _metric, which names what is wrong."""
    out: list[tuple[str, str, float, int, int]] = []
    append = out.append
    for m in call.records("metrics"):
        key, stamp, step = m.get("key"), m.get("timestamp"), m.get("step", 0)
        value: Any = m.get("value")
        kind = type(value)
        if (
            type(key) is str
            and key
            and (kind is float or kind is int)
            and type(stamp) is int
            and type(step) is int
            and _LOW <= stamp < _HIGH
            and _LOW <= step < _HIGH
        ):
            # a metric carrying a model_id is MLflow linking a run's metric to a logged
            # model: a copy of a point the run already has (lineage links Knot's models
            # to runs)
            if not m.get("model_id"):
                append((run_id, key, value if kind is float else float(value), step, stamp))
        elif not m.get("model_id"):
            append(_metric(run_id, Call(call.request, m)))
    return out


@route(router, "POST", f"{P}/runs/log-metric")
def log_metric(call: Call) -> dict[str, Any]:
    call.store.log_batch(Batch(metrics=[_metric(run_id_of(call), call)]))
    return {}


@route(router, "POST", f"{P}/runs/log-parameter", conflict=_PARAM_CLASH)
def log_param(call: Call) -> dict[str, Any]:
    run_id = run_id_of(call)
    value = call.maybe_text("value") or ""
    call.store.log_batch(Batch(params=[(run_id, call.text("key"), value)]))
    return {}


@route(router, "POST", f"{P}/runs/set-tag")
def set_tag(call: Call) -> dict[str, Any]:
    run_id = run_id_of(call)
    value = call.maybe_text("value") or ""
    call.store.log_batch(Batch(tags=[(run_id, call.text("key"), value)]))
    return {}


@route(router, "POST", f"{P}/runs/delete-tag")
def delete_tag(call: Call) -> dict[str, Any]:
    call.store.get_run(run_id_of(call))
    raise not_supported(
        "deleting a run tag", "Knot run tags are kept for audit; set the tag to another value"
    )


@route(router, "POST", f"{P}/runs/log-batch", conflict=_PARAM_CLASH)
def log_batch(call: Call) -> dict[str, Any]:
    """Metrics, params and tags of one run in one transaction: all or nothing."""
    run_id = run_id_of(call)
    for name, limit in _MAX_BATCH.items():
        if len(call.records(name)) > limit:
            raise Invalid(
                f"a batch holds at most {limit} {name}, got {len(call.records(name))}; "
                "split it into several log-batch calls",
                field=name,
            )
    metrics = _metrics(call, run_id)
    params = [(run_id, k, v) for k, v in call.key_values("params").items()]
    tags = [(run_id, k, v) for k, v in call.key_values("tags").items()]
    if metrics or params or tags:
        call.store.log_batch(Batch(metrics=metrics, params=params, tags=tags))
    else:
        call.store.get_run(run_id)  # an empty batch still names a run that must exist
    return {}


@route(router, "GET", f"{P}/metrics/get-history")
def get_metric_history(call: Call) -> dict[str, Any]:
    points = call.store.get_metric_history(run_id_of(call), call.text("metric_key"))
    limit = call.integer("max_results")
    token = call.maybe_text("page_token")
    if token and not token.isdigit():
        raise Invalid(f"page_token {token!r} is not one this server gave", field="page_token")
    offset = int(token) if token else 0
    end = len(points) if limit is None or limit <= 0 else offset + limit
    body: dict[str, Any] = {"metrics": [wire.metric(p) for p in points[offset:end]]}
    if end < len(points):
        body["next_page_token"] = str(end)
    return body


@route(router, "POST", f"{P}/runs/outputs")
def log_outputs(call: Call) -> dict[str, Any]:
    """Which logged models a run produced: Knot knows it already (a logged model's files
    are artifacts of its run), so this only checks the run exists."""
    call.store.get_run(run_id_of(call))
    return {}


@route(router, "POST", f"{P}/runs/log-inputs")
def log_inputs(call: Call) -> dict[str, Any]:
    call.store.get_run(run_id_of(call))
    if call.records("datasets") or call.records("models"):
        raise not_supported(
            "logging dataset inputs",
            "register the dataset with `knot data register` and log it with "
            "knot.log_dataset, which records its lineage",
        )
    return {}
