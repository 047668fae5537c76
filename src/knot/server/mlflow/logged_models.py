"""MLflow 3's logged models as files of a Knot run.

`mlflow.<flavor>.log_model` first creates a logged model, uploads the model folder to
its artifact location, then registers `models:/<model_id>`. In Knot a logged model is
the folder `<name>` of its source run (a run is created for it when it has none); its
id names that run (`m-<run_id>-<suffix>`) and a run tag (`mlflow.knot.model.<id>`)
keeps its name and status, so nothing lives outside Knot's runs and artifacts.
Its tags live in that record too (a run tag holds at most 8,000 characters); its params
and metrics are its run's, so logging them separately answers NOT_IMPLEMENTED."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from knot.errors import Invalid, NotFound
from knot.governance.identity import current_actor
from knot.server.mlflow import wire
from knot.server.mlflow.errors import not_supported
from knot.server.mlflow.experiments import experiment_id_of
from knot.server.mlflow.name_filter import name_matches, offset_of
from knot.server.mlflow.routing import Call, route
from knot.tracking.entities import Batch, Run
from knot.tracking.protocol import TrackingStore

__all__ = ["LoggedModel", "logged_model", "router"]

router = APIRouter()
P = "/api/2.0/mlflow/logged-models"
TAG = "mlflow.knot.model."
_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


@dataclass(frozen=True)
class LoggedModel:
    model_id: str
    run: Run
    record: dict[str, Any]

    @property
    def path(self) -> str:
        """The folder of the run holding the model's files."""
        return str(self.record["name"])

    def wire(self) -> dict[str, Any]:
        r, record = self.run, self.record
        info = {
            "model_id": self.model_id,
            "experiment_id": r.experiment_id,
            "name": record["name"],
            "artifact_uri": f"{wire.artifact_uri(r.experiment_id, r.run_id)}/{self.path}",
            "status": record["status"],
            "creation_timestamp_ms": record["created"],
            "last_updated_timestamp_ms": record.get("updated", record["created"]),
            "source_run_id": r.run_id,
            "model_type": record.get("model_type") or "",
            "tags": wire.pairs(record.get("tags", {})),
        }
        return {"model": {"info": info, "data": {"params": wire.pairs(r.params), "metrics": []}}}


def logged_model(store: TrackingStore, model_id: str) -> LoggedModel:
    """The logged model `model_id` names; RESOURCE_DOES_NOT_EXIST if there is none."""
    missing = NotFound(f"Logged model with ID '{model_id}' not found", field="model_id")
    body, _, _ = model_id.removeprefix("m-").rpartition("-")
    if not model_id.startswith("m-") or not body:
        raise missing
    try:
        run = store.get_run(body)
    except NotFound:
        raise missing from None
    raw = run.tags.get(TAG + model_id)
    if raw is None:
        raise missing
    return LoggedModel(model_id, run, json.loads(raw))


def _save(store: TrackingStore, model: LoggedModel) -> None:
    text = json.dumps(model.record, sort_keys=True)
    store.log_batch(Batch(tags=[(model.run.run_id, TAG + model.model_id, text)]))


@route(router, "POST", P)
def create_logged_model(call: Call) -> dict[str, Any]:
    store = call.store
    experiment_id = experiment_id_of(store, call.text("experiment_id"))
    name = call.maybe_text("name") or "model"
    if "/" in name or name.startswith(".") or len(name) > 200:
        raise Invalid(f"logged model name {name!r} must be one folder name", field="name")
    source = call.maybe_text("source_run_id")
    if source:
        run = store.get_run(source)
    else:  # Knot keeps a model's files on a run: give it one
        run = store.create_run(
            experiment_id, user=current_actor(), name=name, tags={wire.RUN_NAME_TAG: name}
        )
    now = int(time.time() * 1000)
    record = {
        "name": name,
        "created": now,
        "updated": now,
        "status": "LOGGED_MODEL_PENDING",
        "model_type": call.maybe_text("model_type"),
    }
    model = LoggedModel(f"m-{run.run_id}-{uuid.uuid4().hex[:8]}", run, record)
    _save(store, model)
    return model.wire()


@route(router, "GET", P + "/{model_id}")
def get_logged_model(call: Call) -> dict[str, Any]:
    return logged_model(call.store, call.request.path_params["model_id"]).wire()


@route(router, "PATCH", P + "/{model_id}")
def finalize_logged_model(call: Call) -> dict[str, Any]:
    model = logged_model(call.store, call.request.path_params["model_id"])
    status = call.text("status")
    if status not in _STATUSES:
        raise Invalid(f"status {status!r} is not one of {', '.join(_STATUSES)}", field="status")
    record = {**model.record, "status": status, "updated": int(time.time() * 1000)}
    updated = LoggedModel(model.model_id, model.run, record)
    _save(call.store, updated)
    return updated.wire()


@route(router, "POST", P + "/search")
def search_logged_models(call: Call) -> dict[str, Any]:
    """Logged models of some experiments, filtered by name and source_run_id (=, !=, LIKE).
    MLflow's client asks this when it looks for a run's model by name."""
    store = call.store
    experiment_ids = [experiment_id_of(store, e) for e in call.strings("experiment_ids")]
    filter_text = (call.maybe_text("filter") or "").strip()
    if filter_text:
        name_matches("", filter_text, "logged model", {"source_run_id": ""})  # even if empty
    found: list[LoggedModel] = []
    token: str | None = None
    while True:
        page = store.search_runs(experiment_ids or None, max_results=5000, page_token=token)
        for run in page.runs:
            for key, raw in run.tags.items():
                if not key.startswith(TAG):
                    continue
                model = LoggedModel(key.removeprefix(TAG), run, json.loads(raw))
                fields = {"source_run_id": run.run_id}
                if not filter_text or name_matches(model.path, filter_text, "logged model", fields):
                    found.append(model)
        token = page.next_page_token
        if token is None:
            break
    found.sort(key=lambda m: -int(m.record["created"]))
    limit = call.integer("max_results", 100) or 100
    offset = offset_of(call.maybe_text("page_token"))
    body: dict[str, Any] = {"models": [m.wire()["model"] for m in found[offset : offset + limit]]}
    if offset + limit < len(found):
        body["next_page_token"] = str(offset + limit)
    return body


def _retag(call: Call, tags: dict[str, str]) -> dict[str, Any]:
    model = logged_model(call.store, call.request.path_params["model_id"])
    record = {**model.record, "tags": tags, "updated": int(time.time() * 1000)}
    _save(call.store, LoggedModel(model.model_id, model.run, record))
    return {}


@route(router, "PATCH", P + "/{model_id}/tags")
def set_logged_model_tags(call: Call) -> dict[str, Any]:
    """Tags of a logged model (MLflow records the versions registered from it here)."""
    model = logged_model(call.store, call.request.path_params["model_id"])
    return _retag(call, {**model.record.get("tags", {}), **call.key_values("tags")})


@route(router, "DELETE", P + "/{model_id}/tags/{tag_key}")
def delete_logged_model_tag(call: Call) -> dict[str, Any]:
    model = logged_model(call.store, call.request.path_params["model_id"])
    tags = dict(model.record.get("tags", {}))
    key = call.request.path_params["tag_key"]
    if tags.pop(key, None) is None:
        raise NotFound(f"logged model {model.model_id} has no tag {key!r}", field="tag_key")
    return _retag(call, tags)


@route(router, "POST", P + "/{model_id}/params")
def log_logged_model_params(call: Call) -> dict[str, Any]:
    logged_model(call.store, call.request.path_params["model_id"])
    raise not_supported("params of a logged model", "log them as params of its source run")
