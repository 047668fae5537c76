"""Copy MLflow experiments and runs into a Knot tracking store.

A run keeps its MLflow run id. Its record, every metric point, its params, tags and
end commit as one batch (one transaction), so a run in Knot either has all of them or
does not exist; its artifacts follow, each one record, and a run found in Knot gets
only the artifacts it still lacks. That is what makes a killed import resumable: the
run id is the mapping, and nothing is written twice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from knot.artifacts import ArtifactStore
from knot.errors import Conflict, KnotError, NotFound
from knot.mlflow_import.source import LoggedModelInfo, MlflowSource
from knot.mlflow_import.summary import Summary
from knot.tracking.entities import ArtifactRecord, Batch, NewRun, RunSource, RunStatus
from knot.tracking.protocol import TrackingStore

__all__ = ["RunCopier", "logged_model_paths"]

_ENDED = {"FINISHED", "FAILED", "KILLED"}


def logged_model_paths(logged: Iterable[LoggedModelInfo], taken: Iterable[str]) -> dict[str, str]:
    """Where each of a run's MLflow 3 logged models goes among the run's artifacts: its
    name (`runs:/RUN/model`, as users know it), or models/<model id> when that name is
    taken by an artifact or another logged model. Decided from the source alone, so a
    re-run finds the same paths."""
    used = set(taken)
    paths: dict[str, str] = {}
    for model in sorted(logged, key=lambda m: m.model_id):
        path = model.name if model.name and model.name not in used else f"models/{model.model_id}"
        used.add(path)
        paths[model.model_id] = path
    return paths


class RunCopier:
    """Copies runs of one MLflow store into `tracking` and `artifacts`, counting in
    `summary`."""

    def __init__(
        self,
        source: MlflowSource,
        tracking: TrackingStore,
        artifacts: ArtifactStore,
        summary: Summary,
    ) -> None:
        self.source = source
        self.tracking = tracking
        self.artifacts = artifacts
        self.summary = summary
        #: run ids that exist in Knot now (a child's parent must be one of them)
        self.present: set[str] = set()
        #: logged model id -> (run id, artifact path) in Knot
        self.model_paths: dict[str, tuple[str, str]] = {}
        #: run id -> the run's artifact root in MLflow
        self.artifact_uris: dict[str, str] = {}
        #: runs whose artifacts MLflow could not list: where their logged models go
        #: (a path clear of the run's other artifacts) is not known yet
        self.unlisted: set[str] = set()

    def experiment(self, experiment: Any) -> str | None:
        """The Knot experiment of the same name (created if missing), or None if it
        cannot be."""
        name = experiment.name
        try:
            found = self.tracking.get_experiment_by_name(name)
            if found is not None:
                self.summary.add("experiments", "present")
                return found.experiment_id
            note = (experiment.tags or {}).get("mlflow.note.content")
            try:
                created = self.tracking.create_experiment(name, note)
            except Conflict:  # another import created it meanwhile
                again = self.tracking.get_experiment_by_name(name)
                if again is None:
                    raise
                self.summary.add("experiments", "present")
                return again.experiment_id
        except KnotError as exc:
            self.summary.add("experiments", "failed", f"experiment {name!r}", exc.message)
            return None
        self.summary.add("experiments", "imported")
        return created.experiment_id

    def run(self, run: Any, experiment_id: str, logged: list[LoggedModelInfo]) -> None:
        """Copy one run (or finish copying it) and its artifacts and logged models."""
        run_id = run.info.run_id
        what = f"run {run_id}"
        self.artifact_uris[run_id] = str(run.info.artifact_uri or "")
        try:
            if self._exists(run_id):
                self.summary.add("runs", "present")
            else:
                self._write_run(run, experiment_id)
                self.summary.add("runs", "imported")
        except KnotError as exc:
            self.summary.add("runs", "failed", what, exc.message)
            return
        self.present.add(run_id)
        self._artifacts(run, logged)

    def _exists(self, run_id: str) -> bool:
        try:
            self.tracking.get_run(run_id)
        except NotFound:
            return False
        return True

    def _write_run(self, run: Any, experiment_id: str) -> None:
        info, data = run.info, run.data
        run_id = info.run_id
        tags = {str(k): str(v) for k, v in data.tags.items()}
        parent = tags.get("mlflow.parentRunId")
        new = NewRun(
            run_id=run_id,
            experiment_id=experiment_id,
            user=info.user_id or "unknown",
            name=info.run_name or tags.get("mlflow.runName") or None,
            parent_run_id=parent if parent in self.present else None,
            tags=tags,
            source=RunSource(
                git_commit=tags.get("mlflow.source.git.commit"),
                command=tags.get("mlflow.source.name"),
            ),
            start_time=int(info.start_time or 0),
        )
        batch = Batch(starts=[new])
        for key in sorted(data.metrics):
            for point in self.source.metric_history(run_id, key):
                batch.metrics.append(
                    (run_id, key, float(point.value), int(point.step), int(point.timestamp))
                )
        batch.params = [(run_id, str(k), str(v)) for k, v in data.params.items()]
        if info.status in _ENDED:
            end = info.end_time if info.end_time is not None else info.start_time
            batch.ends = [(run_id, RunStatus(info.status).value, int(end or 0))]
        try:
            self.tracking.log_batch(batch)
        except Conflict:
            if not self._exists(run_id):  # a clash with what the run holds, not a race
                raise
        self.summary.metric_points += len(batch.metrics)

    def _artifacts(self, run: Any, logged: list[LoggedModelInfo]) -> None:
        run_id = run.info.run_id
        try:
            entries = self.source.top_artifacts(run)
            have = {r.path for r in self.tracking.list_artifacts(run_id)}
        except KnotError as exc:
            self.summary.add("artifacts", "failed", f"run {run_id}", exc.message)
            self.unlisted.add(run_id)
            return
        names = [e.path.rsplit("/", 1)[-1] for e in entries]
        for name in names:
            self._one(
                run_id,
                name,
                have,
                lambda dest, n=name: self.source.download_run_artifact(run, n, dest),
            )
        paths = logged_model_paths(logged, names)
        for model in logged:
            path = paths[model.model_id]
            self.model_paths[model.model_id] = (run_id, path)
            self._one(
                run_id,
                path,
                have,
                lambda dest, m=model: self.source.download_folder(m.artifact_location, dest),
            )

    def _one(self, run_id: str, path: str, have: set[str], download: Any) -> None:
        what = f"run {run_id}: {path}"
        if path in have:
            self.summary.add("artifacts", "present")
            return
        try:
            with tempfile.TemporaryDirectory(prefix="knot-mlflow-") as tmp:
                local = download(Path(tmp))
                self.tracking.log_artifact(run_id, self.store_local(local, path))
        except (KnotError, OSError) as exc:
            why = exc.message if isinstance(exc, KnotError) else str(exc)
            self.summary.add("artifacts", "failed", what, why)
            return
        self.summary.add("artifacts", "imported")

    def store_local(self, local: Path, path: str) -> ArtifactRecord:
        """Put a downloaded file or folder in the artifact store; its record at `path`."""
        if local.is_dir():
            digest = self.artifacts.put_folder(local)
            size = sum(f.stat().st_size for f in local.rglob("*") if f.is_file())
            return ArtifactRecord(path=path, digest=digest, size=size, kind="folder")
        digest = self.artifacts.put_file(local)
        return ArtifactRecord(path=path, digest=digest, size=local.stat().st_size, kind="file")
