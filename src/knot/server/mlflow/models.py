"""MLflow registered models and aliases as Knot models and aliases.

An alias set here goes through Knot's registry like `knot models alias`: a promotion
policy's guarded aliases (champion by default) refuse to be moved directly, and the
move is audited. Knot keeps models and versions (lineage points at them) and has no
model tags or stages, so those calls answer NOT_IMPLEMENTED with what to use instead."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from fastapi import APIRouter

from knot.errors import Invalid, NotFound
from knot.registry.entities import RegisteredModel, VersionStatus
from knot.registry.protocol import RegistryStore
from knot.server.mlflow import wire
from knot.server.mlflow.errors import not_supported
from knot.server.mlflow.name_filter import name_matches, offset_of
from knot.server.mlflow.routing import Call, route

__all__ = ["router", "version_number"]

router = APIRouter()
P = "/api/2.0/mlflow/registered-models"
_GUARDED = "INVALID_STATE"  # an alias a policy guards, or one pointing at an archived version


def version_number(call: Call) -> int:
    text = call.text("version")
    if not text.isdigit() or int(text) < 1:
        raise Invalid(f"version {text!r} is not a version number (1, 2, ...)", field="version")
    return int(text)


def _refuse_tags(call: Call, what: str) -> None:
    tags = call.key_values("tags")
    if tags:
        raise Invalid(
            f"{what} tags {sorted(tags)} cannot be stored: Knot models and versions have no "
            "tags; put them on the run that produced the version",
            field="tags",
        )


def _wire(registry: RegistryStore, model: RegisteredModel) -> dict[str, Any]:
    latest = None
    if model.latest_version is not None:
        latest = registry.get_version(model.name, model.latest_version)
    return wire.registered_model(model, latest)


@route(router, "POST", f"{P}/create")
def create_registered_model(call: Call) -> dict[str, Any]:
    """Create a model (RESOURCE_ALREADY_EXISTS if the name is taken)."""
    _refuse_tags(call, "registered model")
    model = call.registry.create_model(call.text("name"), call.maybe_text("description"))
    return {"registered_model": _wire(call.registry, model)}


@route(router, "GET", f"{P}/get")
def get_registered_model(call: Call) -> dict[str, Any]:
    return {"registered_model": _wire(call.registry, call.registry.get_model(call.text("name")))}


@route(router, "GET", f"{P}/search")
def search_registered_models(call: Call) -> dict[str, Any]:
    registry = call.registry
    found = registry.list_models()
    filter_text = call.maybe_text("filter")
    if filter_text and filter_text.strip():
        name_matches(
            "", filter_text, "registered model"
        )  # a bad filter is refused even with nothing to filter
        found = [m for m in found if name_matches(m.name, filter_text, "registered model")]
    for item in reversed(call.strings("order_by") or ["name ASC"]):
        words = item.split()
        field = words[0] if words else ""
        keys = {"name": "name", "timestamp": "updated_at", "last_updated_timestamp": "updated_at"}
        if field not in keys or len(words) > 2 or words[-1].lower() not in ("asc", "desc", field):
            raise Invalid(
                f"order_by {item!r} is not supported; use name or last_updated_timestamp, "
                "optionally followed by ASC or DESC",
                field="order_by",
            )
        descending = words[-1].lower() == "desc"
        found.sort(key=attrgetter(keys[field]), reverse=descending)
    limit = call.integer("max_results", 100) or 100
    offset = offset_of(call.maybe_text("page_token"))
    page = found[offset : offset + limit]
    body: dict[str, Any] = {"registered_models": [_wire(registry, m) for m in page]}
    if offset + limit < len(found):
        body["next_page_token"] = str(offset + limit)
    return body


@route(router, "POST", f"{P}/get-latest-versions")
def get_latest_versions(call: Call) -> dict[str, Any]:
    """The latest version of the model (Knot has no stages: stage "None" only)."""
    model = call.registry.get_model(call.text("name"))
    stages = [s.lower() for s in call.strings("stages")]
    versions = [
        v for v in call.registry.list_versions(model.name) if v.status is VersionStatus.READY
    ]
    if not versions or (stages and "none" not in stages):
        return {"model_versions": []}
    latest = max(versions, key=lambda v: v.version)
    return {"model_versions": [wire.model_version(latest)]}


@route(router, "PATCH", f"{P}/update")
def update_registered_model(call: Call) -> dict[str, Any]:
    call.registry.get_model(call.text("name"))
    raise not_supported(
        "editing a registered model", "describe each version with model-versions/update"
    )


@route(router, "DELETE", f"{P}/delete")
def delete_registered_model(call: Call) -> dict[str, Any]:
    call.registry.get_model(call.text("name"))
    raise not_supported(
        "deleting a registered model",
        "Knot keeps models for lineage and audit; archive its versions (`knot models archive`)",
    )


@route(router, "POST", f"{P}/rename")
def rename_registered_model(call: Call) -> dict[str, Any]:
    call.registry.get_model(call.text("name"))
    raise not_supported("renaming a registered model", "register the versions under a new name")


@route(router, "POST", f"{P}/set-tag")
def set_registered_model_tag(call: Call) -> dict[str, Any]:
    call.registry.get_model(call.text("name"))
    raise not_supported("registered model tags", "tag the run that produced the version")


@route(router, "DELETE", f"{P}/delete-tag")
def delete_registered_model_tag(call: Call) -> dict[str, Any]:
    call.registry.get_model(call.text("name"))
    raise not_supported("registered model tags", "tag the run that produced the version")


@route(router, "POST", f"{P}/alias", conflict=_GUARDED)
def set_alias(call: Call) -> dict[str, Any]:
    """Point an alias at a version; a policy-guarded alias answers INVALID_STATE."""
    call.registry.set_alias(call.text("name"), call.text("alias"), version_number(call))
    return {}


@route(router, "DELETE", f"{P}/alias", conflict=_GUARDED)
def delete_alias(call: Call) -> dict[str, Any]:
    name, alias = call.text("name"), call.text("alias")
    if alias not in call.registry.get_model(name).aliases:
        raise NotFound(f"Registered model alias {alias} not found.", field="alias")
    call.registry.delete_alias(name, alias)
    return {}


@route(router, "GET", f"{P}/alias")
def get_model_version_by_alias(call: Call) -> dict[str, Any]:
    name, alias = call.text("name"), call.text("alias")
    model = call.registry.get_model(name)
    if alias not in model.aliases:
        raise NotFound(f"Registered model alias {alias} not found.", field="alias")
    version = call.registry.get_version(name, model.aliases[alias])
    return {"model_version": wire.model_version(version)}
