"""MLflow runs as Knot runs: create, get, update, delete/restore and search.

A run's MLflow name lives in the `mlflow.runName` tag (Knot's run name is fixed at
creation, MLflow's can change), and deleting a run tags it (wire.DELETED_TAG): Knot
keeps every run, because lineage and audit rows point at them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from knot.errors import Invalid
from knot.governance.identity import current_actor
from knot.server.auth import current_token
from knot.server.mlflow import wire
from knot.server.mlflow.experiments import experiment_id_of
from knot.server.mlflow.routing import Call, route
from knot.server.mlflow.run_filters import knot_filter, knot_order_by
from knot.tracking.entities import Batch, RunSource, RunStatus

__all__ = ["router", "run_id_of"]

router = APIRouter()
P = "/api/2.0/mlflow/runs"
_STATUSES = {s.value for s in RunStatus}


def run_id_of(call: Call) -> str:
    """MLflow clients send `run_id`, older ones `run_uuid`."""
    return call.text("run_id", "run_uuid")


@route(router, "POST", f"{P}/create")
def create_run(call: Call) -> dict[str, Any]:
    store = call.store
    experiment_id = experiment_id_of(store, call.maybe_text("experiment_id") or "0")
    tags = call.key_values("tags")
    name = call.maybe_text("run_name") or tags.get(wire.RUN_NAME_TAG) or None
    if name is not None:
        tags.setdefault(wire.RUN_NAME_TAG, name)
    token = current_token(call.request)
    # with auth the run is the token's, whatever name the client sends
    user = token.name if token else call.maybe_text("user_id") or tags.get("mlflow.user")
    user = user or current_actor()
    source = RunSource(
        git_commit=tags.get("mlflow.source.git.commit"),
        command=tags.get("mlflow.source.name"),
    )
    created = store.create_run(
        experiment_id,
        user=user,
        name=name,
        tags=tags,
        source=source,
        start_time=call.integer("start_time"),
    )
    return {"run": wire.run(created)}


@route(router, "GET", f"{P}/get")
def get_run(call: Call) -> dict[str, Any]:
    return {"run": wire.run(call.store.get_run(run_id_of(call)))}


@route(router, "POST", f"{P}/update")
def update_run(call: Call) -> dict[str, Any]:
    """Set a run's status and end time, and its MLflow name."""
    store = call.store
    run_id = run_id_of(call)
    name = call.maybe_text("run_name")
    status = call.maybe_text("status")
    end_time = call.integer("end_time")
    if status is not None and status not in _STATUSES:
        raise Invalid(
            f"run status {status!r} is not one of {', '.join(sorted(_STATUSES))}", field="status"
        )
    if name:
        store.log_batch(Batch(tags=[(run_id, wire.RUN_NAME_TAG, name)]))
    if status is not None:
        updated = store.set_run_status(run_id, RunStatus(status), end_time)
    else:
        updated = store.get_run(run_id)
    return {"run_info": wire.run_info(updated)}


def _set_deleted(call: Call, deleted: bool) -> dict[str, Any]:
    run_id = run_id_of(call)
    call.store.get_run(run_id)  # RESOURCE_DOES_NOT_EXIST before anything is written
    value = "true" if deleted else "false"
    call.store.log_batch(Batch(tags=[(run_id, wire.DELETED_TAG, value)]))
    return {}


@route(router, "POST", f"{P}/delete")
def delete_run(call: Call) -> dict[str, Any]:
    """Mark a run deleted: searches skip it; Knot keeps it for lineage and audit."""
    return _set_deleted(call, True)


@route(router, "POST", f"{P}/restore")
def restore_run(call: Call) -> dict[str, Any]:
    return _set_deleted(call, False)


@route(router, "POST", f"{P}/search")
def search_runs(call: Call) -> dict[str, Any]:
    """Runs matching an MLflow filter (see run_filters for the forms Knot supports)."""
    store = call.store
    experiment_ids = [experiment_id_of(store, e) for e in call.strings("experiment_ids")]
    page = store.search_runs(
        experiment_ids=experiment_ids or None,
        filter=knot_filter(call.maybe_text("filter"), call.maybe_text("run_view_type")),
        order_by=knot_order_by(call.strings("order_by")),
        max_results=call.integer("max_results", 1000) or 0,  # 0: Knot says the range
        page_token=call.maybe_text("page_token") or None,
    )
    body: dict[str, Any] = {"runs": [wire.run(r) for r in page.runs]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body
