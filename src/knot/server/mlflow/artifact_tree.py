"""A run's artifacts as the file tree MLflow's client sees: every file record, and every
file inside a folder record (Knot stores a logged folder as one manifest), by path; a
Knot model folder without an MLmodel file shows one, made from its knot-model.json.

MLflow's client uploads a model one file at a time; registering it (versions.py) turns
the files under the model's path into one Knot folder record, whose digest is what a
Knot model version names."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from knot.artifacts import ArtifactStore
from knot.artifacts.manifest import Manifest, ManifestEntry
from knot.errors import NotFound
from knot.registry.mlflow_format import MLMODEL_FILE, mlmodel_text
from knot.tracking.entities import ArtifactRecord
from knot.tracking.protocol import TrackingStore

__all__ = ["TreeFile", "folder_of", "run_files"]


@dataclass(frozen=True)
class TreeFile:
    path: str
    digest: str
    size: int


def run_files(store: TrackingStore, artifacts: ArtifactStore, run_id: str) -> dict[str, TreeFile]:
    """Every file of the run by path; a file uploaded on its own wins over the same path
    inside a folder."""
    files: dict[str, TreeFile] = {}
    records = store.list_artifacts(run_id)
    for record in records:
        if record.kind == "folder":
            entries = artifacts.read_manifest(record.digest).entries
            for entry in entries:
                path = f"{record.path}/{entry.path}"
                files[path] = TreeFile(path, entry.digest, entry.size)
            mlmodel = _mlmodel_for(artifacts, {e.path: e.digest for e in entries})
            if mlmodel is not None:
                files[f"{record.path}/{MLMODEL_FILE}"] = TreeFile(
                    f"{record.path}/{MLMODEL_FILE}", *mlmodel
                )
    for record in records:
        if record.kind == "file":
            files[record.path] = TreeFile(record.path, record.digest, record.size)
    return files


def _mlmodel_for(artifacts: ArtifactStore, files: dict[str, str]) -> tuple[str, int] | None:
    """(digest, size) of an MLmodel file for a Knot model folder logged without one (by a
    Knot older than MLflow's API), so MLflow's client can load it; None if the folder
    has one already, is no Knot model, or is of a flavor MLflow cannot load."""
    from knot.registry.model_folder import META_FILE, ModelMeta  # numpy: not at start-up

    if MLMODEL_FILE in files or META_FILE not in files:
        return None
    try:
        meta = ModelMeta.model_validate_json(artifacts.get_bytes(files[META_FILE]))
    except ValidationError:
        return None
    text = mlmodel_text(meta)
    if text is None:
        return None
    data = text.encode("utf-8")
    return artifacts.put_bytes(data), len(data)  # stored once: blobs are named by content


def folder_of(
    store: TrackingStore, artifacts: ArtifactStore, run_id: str, path: str
) -> ArtifactRecord:
    """The folder record at `path` of the run: the one logged there if nothing was uploaded
    below it since, else a new one made of the files below `path` (logged on the run)."""
    path = path.strip("/")
    records = store.list_artifacts(run_id)
    below = [r for r in records if r.kind == "file" and r.path.startswith(f"{path}/")]
    logged = next((r for r in records if r.path == path and r.kind == "folder"), None)
    if logged is not None and not below:
        return logged
    files = [f for p, f in run_files(store, artifacts, run_id).items() if p.startswith(f"{path}/")]
    if not files:
        raise NotFound(
            f"run {run_id} has no artifacts under {path!r}; log the model's files there first",
            field="source",
        )
    entries = tuple(ManifestEntry(f.path[len(path) + 1 :], f.digest, f.size) for f in files)
    manifest = Manifest(entries)
    digest = artifacts.put_bytes(manifest.to_bytes())
    record = ArtifactRecord(path=path, digest=digest, size=manifest.size, kind="folder")
    store.log_artifact(run_id, record)
    return record
