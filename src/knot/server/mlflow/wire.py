"""Knot's entities in MLflow's JSON shapes (the protobuf JSON of service.proto and
model_registry.proto: int64 timestamps as numbers, version numbers as strings, tags as
lists of {key, value})."""

from __future__ import annotations

import math
from typing import Any

from knot.registry.entities import ModelVersion, RegisteredModel, VersionStatus
from knot.tracking.entities import Experiment, MetricPoint, Run

__all__ = [
    "DELETED_TAG",
    "NOTE_TAG",
    "RUN_NAME_TAG",
    "artifact_uri",
    "experiment",
    "metric",
    "model_version",
    "number",
    "pairs",
    "registered_model",
    "run",
    "run_info",
]

# A deleted MLflow run is a Knot run with this tag: Knot keeps every run (lineage and
# audit point at them), and MLflow's searches skip runs carrying it.
DELETED_TAG = "mlflow.knot.deleted"
NOTE_TAG = "mlflow.note.content"  # MLflow's description of an experiment or run
RUN_NAME_TAG = "mlflow.runName"


def number(value: float) -> float | str:
    """A metric value; protobuf JSON spells NaN and the infinities as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def pairs(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def experiment(e: Experiment) -> dict[str, Any]:
    tags = [{"key": NOTE_TAG, "value": e.description}] if e.description else []
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": f"mlflow-artifacts:/{e.experiment_id}",
        "lifecycle_stage": "active",
        "creation_time": e.created_at,
        "last_update_time": e.created_at,
        "tags": tags,
    }


def artifact_uri(experiment_id: str, run_id: str) -> str:
    """Where MLflow's client uploads a run's artifacts: the server's artifact proxy."""
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def run_info(r: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": r.run_id,
        "run_uuid": r.run_id,
        "run_name": r.tags.get(RUN_NAME_TAG, r.name),
        "experiment_id": r.experiment_id,
        "user_id": r.user,
        "status": r.status.value,
        "start_time": r.start_time,
        "artifact_uri": artifact_uri(r.experiment_id, r.run_id),
        "lifecycle_stage": "deleted" if r.tags.get(DELETED_TAG) == "true" else "active",
    }
    if r.end_time is not None:
        info["end_time"] = r.end_time
    return info


def run(r: Run) -> dict[str, Any]:
    metrics = [
        {
            "key": s.key,
            "value": number(s.latest),
            "timestamp": s.latest_timestamp,
            "step": s.latest_step,
        }
        for s in r.metrics.values()
    ]
    tags = {k: v for k, v in r.tags.items() if k != DELETED_TAG}
    return {
        "info": run_info(r),
        "data": {"metrics": metrics, "params": pairs(r.params), "tags": pairs(tags)},
        "inputs": {},
        "outputs": {},
    }


def metric(p: MetricPoint) -> dict[str, Any]:
    return {"key": p.key, "value": number(p.value), "timestamp": p.timestamp, "step": p.step}


def model_version(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.created_at,
        "last_updated_timestamp": v.created_at,
        "user_id": v.created_by,
        "current_stage": "Archived" if v.status is VersionStatus.ARCHIVED else "None",
        "description": v.description or "",
        "source": f"runs:/{v.run_id}/{v.artifact_path}",
        "run_id": v.run_id,
        "status": "READY",
        "tags": [],
        "aliases": list(v.aliases),
    }


def registered_model(m: RegisteredModel, latest: ModelVersion | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": m.name,
        "creation_timestamp": m.created_at,
        "last_updated_timestamp": m.updated_at,
        "description": m.description or "",
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(m.aliases.items())],
        "tags": [],
    }
    if latest is not None:
        body["latest_versions"] = [model_version(latest)]
    return body
