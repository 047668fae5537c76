"""MLflow experiments as Knot experiments.

Knot keeps every experiment with its runs (lineage and audit point at them) and an
experiment's only tag is its description, so renaming, deleting and tagging
experiments answer NOT_IMPLEMENTED with what to do instead."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from fastapi import APIRouter

from knot.errors import Conflict, Invalid, NotFound
from knot.server.mlflow import wire
from knot.server.mlflow.errors import not_supported
from knot.server.mlflow.name_filter import name_matches, offset_of
from knot.server.mlflow.routing import Call, route
from knot.tracking.entities import Experiment
from knot.tracking.protocol import TrackingStore

__all__ = ["DEFAULT_EXPERIMENT", "experiment_id_of", "router"]

router = APIRouter()
P = "/api/2.0/mlflow/experiments"

# MLflow's client logs to experiment "0" when none is set: Knot's "Default" experiment
DEFAULT_EXPERIMENT = "Default"


def experiment_id_of(store: TrackingStore, experiment_id: str) -> str:
    """The Knot id an MLflow experiment id names ("0" is the Default experiment)."""
    if experiment_id != "0":
        return experiment_id
    found = store.get_experiment_by_name(DEFAULT_EXPERIMENT)
    if found is not None:
        return found.experiment_id
    try:
        return store.create_experiment(DEFAULT_EXPERIMENT).experiment_id
    except Conflict:  # created meanwhile by another request
        again = store.get_experiment_by_name(DEFAULT_EXPERIMENT)
        assert again is not None
        return again.experiment_id


def _create_body(call: Call) -> tuple[str, str | None]:
    name = call.text("name")
    tags = call.key_values("tags")
    description = tags.pop(wire.NOTE_TAG, None)
    if tags:
        raise Invalid(
            f"experiment tags {sorted(tags)} cannot be stored: a Knot experiment's only tag is "
            f"its description ({wire.NOTE_TAG}); put the rest on its runs",
            field="tags",
        )
    if call.maybe_text("artifact_location"):
        raise Invalid(
            "artifact_location cannot be chosen per experiment: Knot stores every artifact in "
            "the server's artifact store; leave it out",
            field="artifact_location",
        )
    return name, description


@route(router, "POST", f"{P}/create")
def create_experiment(call: Call) -> dict[str, Any]:
    """Create an experiment (RESOURCE_ALREADY_EXISTS if the name is taken)."""
    name, description = _create_body(call)
    return {"experiment_id": call.store.create_experiment(name, description).experiment_id}


@route(router, "GET", f"{P}/get")
def get_experiment(call: Call) -> dict[str, Any]:
    store = call.store
    found = store.get_experiment(experiment_id_of(store, call.text("experiment_id")))
    return {"experiment": wire.experiment(found)}


@route(router, "GET", f"{P}/get-by-name")
def get_experiment_by_name(call: Call) -> dict[str, Any]:
    name = call.text("experiment_name")
    found = call.store.get_experiment_by_name(name)
    if found is None:
        raise NotFound(f"Could not find experiment with name '{name}'", field="experiment_name")
    return {"experiment": wire.experiment(found)}


def _ordered(found: list[Experiment], order_by: list[str]) -> list[Experiment]:
    keys = {"name": "name", "creation_time": "created_at", "experiment_id": "experiment_id"}
    for item in reversed(order_by or ["creation_time DESC"]):
        words = item.strip().split()
        field = words[0].removeprefix("attributes.").removeprefix("attribute.") if words else ""
        direction = words[1].lower() if len(words) == 2 else "asc"
        if field not in keys or len(words) > 2 or direction not in ("asc", "desc"):
            raise Invalid(
                f"experiment order_by {item!r} is not supported; use name, creation_time or "
                "experiment_id, each optionally followed by ASC or DESC",
                field="order_by",
            )
        found.sort(key=attrgetter(keys[field]), reverse=direction == "desc")
    return found


@route(router, "POST", f"{P}/search")
def search_experiments(call: Call) -> dict[str, Any]:
    """Experiments by name filter; Knot experiments are never deleted, so DELETED_ONLY
    finds none."""
    view = (call.maybe_text("view_type") or "ACTIVE_ONLY").upper()
    if view not in ("ACTIVE_ONLY", "ALL", "DELETED_ONLY", "1", "2", "3"):
        raise Invalid(
            f"view_type {view!r} is not ACTIVE_ONLY, DELETED_ONLY or ALL", field="view_type"
        )
    limit = call.integer("max_results", 1000) or 1000
    if not 0 < limit <= 50_000:
        raise Invalid(f"max_results must be between 1 and 50000, got {limit}", field="max_results")
    offset = offset_of(call.maybe_text("page_token"))
    found = [] if view in ("DELETED_ONLY", "2") else call.store.list_experiments()
    filter_text = call.maybe_text("filter")
    if filter_text and filter_text.strip():
        name_matches(
            "", filter_text, "experiment"
        )  # a bad filter is refused even with nothing to filter
        found = [e for e in found if name_matches(e.name, filter_text, "experiment")]
    found = _ordered(found, call.strings("order_by"))
    page = found[offset : offset + limit]
    body: dict[str, Any] = {"experiments": [wire.experiment(e) for e in page]}
    if offset + limit < len(found):
        body["next_page_token"] = str(offset + limit)
    return body


@route(router, "POST", f"{P}/update")
def update_experiment(call: Call) -> dict[str, Any]:
    call.store.get_experiment(experiment_id_of(call.store, call.text("experiment_id")))
    raise not_supported(
        "renaming an experiment", "Knot experiment names are fixed; create a new experiment"
    )


@route(router, "POST", f"{P}/delete")
def delete_experiment(call: Call) -> dict[str, Any]:
    call.store.get_experiment(experiment_id_of(call.store, call.text("experiment_id")))
    raise not_supported(
        "deleting an experiment",
        "Knot keeps experiments for lineage and audit; delete its runs instead",
    )


@route(router, "POST", f"{P}/restore")
def restore_experiment(call: Call) -> dict[str, Any]:
    call.store.get_experiment(experiment_id_of(call.store, call.text("experiment_id")))
    return {}  # never deleted, so already restored


@route(router, "POST", f"{P}/set-experiment-tag")
def set_experiment_tag(call: Call) -> dict[str, Any]:
    call.store.get_experiment(experiment_id_of(call.store, call.text("experiment_id")))
    raise not_supported(
        "tagging an experiment", "a Knot experiment has only its description; tag its runs"
    )
