"""A run's artifacts as the file tree MLflow's client sees: every file record, and every
file inside a folder record (Knot stores a logged folder as one manifest), by path.

MLflow's client uploads a model one file at a time; registering it (versions.py) turns
the files under the model's path into one Knot folder record, whose digest is what a
Knot model version names."""

from __future__ import annotations

from dataclasses import dataclass

from knot.artifacts import ArtifactStore
from knot.artifacts.manifest import Manifest, ManifestEntry
from knot.errors import NotFound
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
            for entry in artifacts.read_manifest(record.digest).entries:
                path = f"{record.path}/{entry.path}"
                files[path] = TreeFile(path, entry.digest, entry.size)
    for record in records:
        if record.kind == "file":
            files[record.path] = TreeFile(record.path, record.digest, record.size)
    return files


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
