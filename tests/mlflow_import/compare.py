"""Compare a Knot store with the MLflow store it was imported from, item by item, reading
MLflow through its own client and Knot through its store protocols."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from knot.artifacts import ArtifactStore, open_blob_store
from knot.backends import open_registry_store, open_tracking_store
from knot.tracking.protocol import TrackingStore

__all__ = ["assert_same", "knot_files", "logged_models", "mlflow_files"]


def _all(fetch: Any) -> list[Any]:
    found, token = [], None
    while True:
        page = fetch(token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _knot_runs(tracking: TrackingStore, experiment_id: str) -> dict[str, Any]:
    runs, token = {}, None
    while True:
        page = tracking.search_runs([experiment_id], max_results=500, page_token=token)
        runs.update((r.run_id, r) for r in page.runs)
        token = page.next_page_token
        if not token:
            return runs


def _tree(root: Path, prefix: str = "") -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {
        prefix + f.relative_to(root).as_posix(): f.read_bytes()
        for f in sorted(root.rglob("*"))
        if f.is_file()
    }


def logged_models(client: MlflowClient, experiment_id: str) -> dict[str, list[Any]]:
    """Run id -> the MLflow 3 logged models it produced."""
    found: dict[str, list[Any]] = {}
    for model in _all(lambda t: client.search_logged_models([experiment_id], page_token=t)):
        found.setdefault(model.source_run_id, []).append(model)
    return found


def mlflow_files(run: Any, logged: list[Any]) -> dict[str, bytes]:
    """Every file of the run as Knot should hold it: its artifacts, and each logged
    model under the model's name."""
    files = _tree(Path(run.info.artifact_uri.removeprefix("file://")))
    for model in logged:
        files.update(_tree(Path(model.artifact_location.removeprefix("file://")), model.name + "/"))
    return files


def knot_files(tracking: TrackingStore, blobs: ArtifactStore, run_id: str) -> dict[str, bytes]:
    files = {}
    for record in tracking.list_artifacts(run_id):
        if record.kind == "file":
            files[record.path] = blobs.get_bytes(record.digest)
            continue
        for entry in blobs.read_manifest(record.digest).entries:
            files[f"{record.path}/{entry.path}"] = blobs.get_bytes(entry.digest)
    return files


def _file_diff(run_id: str, mlflow: dict[str, bytes], knot: dict[str, bytes]) -> str:
    changed = sorted(p for p in set(mlflow) & set(knot) if mlflow[p] != knot[p])
    return (
        f"run {run_id}: only in MLflow {sorted(set(mlflow) - set(knot))}, only in Knot "
        f"{sorted(set(knot) - set(mlflow))}, different bytes {changed}"
    )


def _history(points: list[Any]) -> list[tuple[int, int, float]]:
    return sorted((int(p.step), int(p.timestamp), float(p.value)) for p in points)


def assert_same(mlflow_uri: str, knot_uri: str, artifacts_uri: str) -> int:
    """Assert Knot holds exactly what MLflow does; returns how many runs were compared."""
    client = MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
    tracking = open_tracking_store(knot_uri)
    registry = open_registry_store(knot_uri, tracking)
    blobs = open_blob_store(artifacts_uri)
    compared = 0
    try:
        for experiment in _all(lambda t: client.search_experiments(page_token=t)):
            mine = _all(lambda t, e=experiment: client.search_runs([e.experiment_id], page_token=t))
            found = tracking.get_experiment_by_name(experiment.name)
            if not mine:
                continue
            assert found is not None, experiment.name
            theirs = _knot_runs(tracking, found.experiment_id)
            assert set(theirs) == {r.info.run_id for r in mine}, experiment.name
            logged = logged_models(client, experiment.experiment_id)
            for run in mine:
                files = mlflow_files(run, logged.get(run.info.run_id, []))
                _same_run(client, tracking, run, theirs[run.info.run_id])
                held = knot_files(tracking, blobs, run.info.run_id)
                assert held == files, _file_diff(run.info.run_id, files, held)
                compared += 1
        _same_models(client, registry, blobs)
    finally:
        registry.close()
        tracking.close()
    return compared


def _same_run(client: MlflowClient, tracking: TrackingStore, run: Any, knot: Any) -> None:
    info, data = run.info, run.data
    assert knot.name == info.run_name
    assert knot.user == info.user_id
    assert knot.status.value == info.status
    assert (knot.start_time, knot.end_time) == (info.start_time, info.end_time)
    assert knot.parent_run_id == data.tags.get("mlflow.parentRunId")
    assert knot.params == data.params
    assert knot.tags == data.tags
    assert set(knot.metrics) == set(data.metrics)
    for key, latest in data.metrics.items():
        mine = _history(client.get_metric_history(info.run_id, key))
        theirs = _history(tracking.get_metric_history(info.run_id, key))
        assert theirs == mine, (info.run_id, key)
        assert math.isclose(knot.metrics[key].latest, latest)


def _same_models(client: MlflowClient, registry: Any, blobs: ArtifactStore) -> None:
    models = _all(lambda t: client.search_registered_models(page_token=t))
    assert {m.name for m in models} <= {m.name for m in registry.list_models()}
    for model in models:
        knot = registry.get_model(model.name)
        assert knot.description == model.description
        assert knot.aliases == {a: int(v) for a, v in model.aliases.items()}
        versions = sorted(
            client.search_model_versions(f"name = '{model.name}'"), key=lambda v: int(v.version)
        )
        theirs = registry.list_versions(model.name)
        assert [(v.version, v.run_id) for v in theirs] == [
            (int(v.version), v.run_id) for v in versions
        ]
        for version, knot_version in zip(versions, theirs, strict=True):
            logged = client.get_logged_model(version.model_id or version.source.split("/")[-1])
            files = _tree(Path(logged.artifact_location.removeprefix("file://")))
            stored = {
                e.path: blobs.get_bytes(e.digest)
                for e in blobs.read_manifest(knot_version.artifact_digest).entries
            }
            assert stored == files
            assert knot_version.flavor == "mlflow.sklearn"
            assert knot_version.environment.packages.get("scikit-learn")
            # the input example was an array of 3 columns: a tensor signature
            signature = knot_version.signature
            assert signature is not None and signature.input_kind == "tensor"
            assert signature.inputs[0].shape == [-1, 3]
