"""MLflow model versions as Knot model versions.

Registering takes the model's files on its run (a logged model's folder, `runs:/RUN/PATH`
or the run's `mlflow-artifacts:/` location), makes them one Knot folder artifact of the
run, reads how to load it (Knot's knot-model.json, or MLflow's MLmodel for the sklearn
flavor) and registers a Knot version from it: lineage links the run to the version, the
audit log records it, and `knot serve models:/NAME/N` serves it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from knot.errors import Invalid
from knot.registry.entities import ModelVersion, VersionSource, VersionStatus, VersionUpdate
from knot.registry.mlflow_format import MLMODEL_FILE, mlflow_meta_parts

if TYPE_CHECKING:
    from knot.registry.model_folder import ModelMeta
from knot.server.mlflow import wire
from knot.server.mlflow.artifact_tree import folder_of
from knot.server.mlflow.errors import not_supported
from knot.server.mlflow.logged_models import logged_model
from knot.server.mlflow.models import _refuse_tags, version_number
from knot.server.mlflow.name_filter import name_matches, offset_of
from knot.server.mlflow.routing import Call, route

__all__ = ["router"]

router = APIRouter()
P = "/api/2.0/mlflow/model-versions"


def _source(call: Call) -> tuple[str, str]:
    """(run id, folder in the run) of the model a create request names."""
    source = call.text("source")
    model_id = call.maybe_text("model_id")
    if not model_id and source.startswith("models:/m-"):
        model_id = source.removeprefix("models:/")
    if model_id:
        model = logged_model(call.store, model_id)
        return model.run.run_id, model.path
    if source.startswith("runs:/"):
        run_id, _, path = source.removeprefix("runs:/").partition("/")
        if run_id and path.strip("/"):
            return run_id, path.strip("/")
    if source.startswith("mlflow-artifacts:/"):
        parts = source.removeprefix("mlflow-artifacts:").strip("/").split("/")
        if len(parts) > 3 and parts[2] == "artifacts":
            return parts[1], "/".join(parts[3:])
    raise Invalid(
        f"model source {source!r} is not one Knot can register; use a logged model "
        "(models:/<model_id>), runs:/<run_id>/<path> or a run's mlflow-artifacts:/ location",
        field="source",
    )


def _meta(call: Call, digest: str) -> ModelMeta:
    from knot.registry.model_folder import META_FILE, ModelMeta  # numpy: not at start-up

    artifacts = call.artifacts
    files = {e.path: e.digest for e in artifacts.read_manifest(digest).entries}
    if META_FILE in files:
        return ModelMeta.model_validate_json(artifacts.get_bytes(files[META_FILE]))
    if MLMODEL_FILE not in files:
        raise Invalid(
            f"the model folder has neither {META_FILE} nor {MLMODEL_FILE}; log it with "
            "knot.log_model or mlflow.<flavor>.log_model",
            field="source",
        )
    requirements = files.get("requirements.txt")
    flavor, saved, signature, environment, version = mlflow_meta_parts(
        artifacts.get_bytes(files[MLMODEL_FILE]).decode("utf-8", "replace"),
        artifacts.get_bytes(requirements).decode("utf-8", "replace") if requirements else None,
    )
    return ModelMeta(
        flavor=flavor,
        saved=saved,
        signature=signature,
        environment=environment,
        knot_version=f"mlflow {version}",
    )


@route(router, "POST", f"{P}/create")
def create_model_version(call: Call) -> dict[str, Any]:
    name = call.text("name")
    _refuse_tags(call, "model version")
    run_id, path = _source(call)
    given_run = call.maybe_text("run_id")
    if given_run and given_run != run_id:
        raise Invalid(
            f"run_id {given_run!r} is not the run of source {call.text('source')!r} ({run_id})",
            field="run_id",
        )
    folder = folder_of(call.store, call.artifacts, run_id, path)
    meta = _meta(call, folder.digest)
    version = call.registry.create_version(
        name,
        VersionSource(
            run_id=run_id,
            artifact_path=path,
            artifact_digest=folder.digest,
            flavor=meta.flavor,
            signature=meta.signature,
            environment=meta.environment,
            description=call.maybe_text("description") or None,
        ),
    )
    return {"model_version": wire.model_version(version)}


def _version(call: Call) -> ModelVersion:
    return call.registry.get_version(call.text("name"), version_number(call))


@route(router, "GET", f"{P}/get")
def get_model_version(call: Call) -> dict[str, Any]:
    return {"model_version": wire.model_version(_version(call))}


@route(router, "PATCH", f"{P}/update")
def update_model_version(call: Call) -> dict[str, Any]:
    name, number = call.text("name"), version_number(call)
    description = call.maybe_text("description")
    if description is None:
        version = call.registry.get_version(name, number)
    else:
        version = call.registry.update_version(name, number, VersionUpdate(description=description))
    return {"model_version": wire.model_version(version)}


@route(router, "GET", f"{P}/search")
def search_model_versions(call: Call) -> dict[str, Any]:
    registry = call.registry
    filter_text = (call.maybe_text("filter") or "").strip()
    found = [v for m in registry.list_models() for v in registry.list_versions(m.name)]
    if filter_text:
        name_matches("", filter_text, "model version", {"run_id": ""})  # refused even if empty
        found = [
            v
            for v in found
            if name_matches(v.name, filter_text, "model version", {"run_id": v.run_id})
        ]
    found.sort(key=lambda v: (v.name, -v.version))
    limit = call.integer("max_results", 10_000) or 10_000
    offset = offset_of(call.maybe_text("page_token"))
    body: dict[str, Any] = {
        "model_versions": [wire.model_version(v) for v in found[offset : offset + limit]]
    }
    if offset + limit < len(found):
        body["next_page_token"] = str(offset + limit)
    return body


@route(router, "GET", f"{P}/get-download-uri")
def get_download_uri(call: Call) -> dict[str, Any]:
    version = _version(call)
    run = call.store.get_run(version.run_id)
    root = wire.artifact_uri(run.experiment_id, run.run_id)
    return {"artifact_uri": f"{root}/{version.artifact_path}"}


@route(router, "POST", f"{P}/transition-stage")
def transition_stage(call: Call) -> dict[str, Any]:
    version = _version(call)
    stage = call.text("stage")
    if stage.lower() == "archived":
        update = VersionUpdate(status=VersionStatus.ARCHIVED)
        archived = call.registry.update_version(version.name, version.version, update)
        return {"model_version": wire.model_version(archived)}
    raise not_supported(
        f"moving a version to stage {stage!r}",
        "Knot has aliases instead of stages: set one with registered-models/alias "
        "(MlflowClient.set_registered_model_alias)",
    )


@route(router, "DELETE", f"{P}/delete")
def delete_model_version(call: Call) -> dict[str, Any]:
    _version(call)
    raise not_supported(
        "deleting a model version", "Knot keeps versions for lineage; archive it instead"
    )


@route(router, "POST", f"{P}/set-tag")
def set_model_version_tag(call: Call) -> dict[str, Any]:
    _version(call)
    raise not_supported("model version tags", "describe the version, or tag its run")


@route(router, "DELETE", f"{P}/delete-tag")
def delete_model_version_tag(call: Call) -> dict[str, Any]:
    _version(call)
    raise not_supported("model version tags", "describe the version, or tag its run")
