"""A Session ties one tracking store, its background writer, the artifact store and
the stack of active runs together. The module-level SDK (knot.start_run, ...) uses
one Session per process, re-opened when KNOT_STORE or KNOT_ARTIFACTS change."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knot.config import settings
from knot.errors import Conflict, Invalid, NotFound
from knot.paths import check_relative_path, join_inside
from knot.tracking import validate
from knot.tracking.buffer.spool import spool_folder
from knot.tracking.buffer.writer import BatchWriter
from knot.tracking.entities import ArtifactRecord, Experiment, NewRun, RunStatus
from knot.tracking.protocol import TrackingStore
from knot.tracking.run import ActiveRun
from knot.tracking.source import capture_source
from knot.tracking.stores import open_tracking_store

if TYPE_CHECKING:
    from knot.artifacts import ArtifactStore

__all__ = ["DEFAULT_EXPERIMENT", "Session"]

DEFAULT_EXPERIMENT = "Default"


class Session:
    def __init__(
        self, store_uri: str, artifacts_uri: str, user: str, home: Path | None = None
    ) -> None:
        self.store_uri = store_uri
        self.artifacts_uri = artifacts_uri
        self.user = user
        self.store: TrackingStore = open_tracking_store(store_uri)
        # batches the store cannot take wait in $KNOT_HOME/spool/<store>/
        # (knot.tracking.buffer.spool)
        spool = spool_folder(home or settings().home, store_uri)
        self.writer = BatchWriter(self.store, spool_folder=spool)
        self._artifacts: ArtifactStore | None = None
        self._stack: list[ActiveRun] = []
        self._experiments: dict[str, Experiment] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> Session:
        s = settings()
        return cls(s.store_uri, s.artifacts_uri, s.user, s.home)

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            from knot.artifacts import open_blob_store

            self._artifacts = open_blob_store(self.artifacts_uri)
        return self._artifacts

    def close(self) -> None:
        for run in reversed(list(self._stack)):
            run.end(RunStatus.KILLED)
        self.writer.close()
        self.store.close()

    # experiments ---------------------------------------------------------------
    def experiment(self, name: str | None) -> Experiment:
        """Get an experiment by name, creating it on first use (safe under concurrency)."""
        name = name or os.environ.get("KNOT_EXPERIMENT") or DEFAULT_EXPERIMENT
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        found = self.store.get_experiment_by_name(name)
        if found is None:
            try:
                found = self.store.create_experiment(name)
            except Conflict:
                found = self.store.get_experiment_by_name(name)
                if found is None:
                    raise
        self._experiments[name] = found
        return found

    def find_experiment(self, name: str) -> Experiment | None:
        """An existing experiment by name, from the session's cache when seen before."""
        found = self._experiments.get(name) or self.store.get_experiment_by_name(name)
        if found is not None:
            self._experiments[name] = found
        return found

    # runs ------------------------------------------------------------------------
    def start_run(
        self,
        name: str | None = None,
        *,
        experiment: str | None = None,
        nested: bool = False,
        tags: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun:
        active = self.active_run()
        if active is not None and not nested and parent_run_id is None:
            raise Invalid(
                f"run {active.run_id} is already active; end it first, or pass nested=True "
                "to start a child run",
                field="nested",
            )
        if run_id is not None:
            return self._resume(run_id)
        if parent_run_id is None and nested and active is not None:
            parent_run_id = active.run_id
        if parent_run_id is not None and experiment is None:
            if active is not None and active.run_id == parent_run_id:
                exp_id = active.experiment_id
            else:
                self.writer.flush()
                exp_id = self.store.get_run(parent_run_id).experiment_id
        else:
            exp_id = self.experiment(experiment).experiment_id
        new = NewRun(
            run_id=uuid.uuid4().hex,
            experiment_id=exp_id,
            user=self.user,
            name=name,
            parent_run_id=parent_run_id,
            tags={k: str(v) for k, v in (tags or {}).items()},
            source=capture_source(),
            start_time=int(time.time() * 1000),
        )
        if new.name is not None:
            validate.check_name(new.name, "run")
        validate.check_keys(new.tags, "tag")
        # The run is created by the first batch the writer sends (at the latest after
        # `interval` seconds, or on flush/end): one transaction for a short run.
        self.writer.add_start(new)
        info = new.as_run()
        run = ActiveRun(self, info)
        with self._lock:
            self._stack.append(run)
        return run

    def _resume(self, run_id: str) -> ActiveRun:
        info = self.store.set_run_status(run_id, RunStatus.RUNNING)
        run = ActiveRun(self, info)
        with self._lock:
            self._stack.append(run)
        return run

    def active_run(self) -> ActiveRun | None:
        with self._lock:
            return self._stack[-1] if self._stack else None

    def forget(self, run: ActiveRun) -> None:
        with self._lock:
            if run in self._stack:
                self._stack.remove(run)

    # artifacts -------------------------------------------------------------------
    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None) -> ArtifactRecord:
        if not path.exists():
            raise NotFound(f"artifact {str(path)!r} does not exist; check the path", field="path")
        name = artifact_path or path.name
        check_relative_path(name, "artifact path", field="artifact_path")
        if path.is_dir():
            digest = self.artifacts.put_folder(path)
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            record = ArtifactRecord(path=name, digest=digest, size=size, kind="folder")
        else:
            digest = self.artifacts.put_file(path)
            record = ArtifactRecord(path=name, digest=digest, size=path.stat().st_size, kind="file")
        self.writer.flush()  # the run itself may still be in the writer's buffer
        self.store.log_artifact(run_id, record)
        return record

    def log_bytes(self, run_id: str, data: bytes, artifact_path: str) -> ArtifactRecord:
        check_relative_path(artifact_path, "artifact path", field="artifact_path")
        digest = self.artifacts.put_bytes(data)
        record = ArtifactRecord(path=artifact_path, digest=digest, size=len(data), kind="file")
        self.writer.flush()
        self.store.log_artifact(run_id, record)
        return record

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        check_relative_path(artifact_path, "artifact path", field="artifact_path")
        self.writer.flush()
        records = {r.path: r for r in self.store.list_artifacts(run_id)}
        record = records.get(artifact_path)
        if record is None:
            known = ", ".join(sorted(records)) or "none"
            raise NotFound(
                f"run {run_id} has no artifact {artifact_path!r}; it has: {known}", field="path"
            )
        # checked above, so a hostile row in the database cannot match; a symlink in
        # `dest` must not carry the download elsewhere either
        target = join_inside(
            dest, artifact_path.rsplit("/", 1)[-1], "artifact path", field="artifact_path"
        )
        if record.kind == "folder":
            self.artifacts.download_folder(record.digest, target)
        else:
            self.artifacts.download_file(record.digest, target)
        return target
