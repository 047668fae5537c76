"""Copy MLflow registered models, their versions and aliases into a Knot registry.

Knot numbers versions itself, so an MLflow version maps to a Knot version by its run:
the k-th MLflow version made from run R is the k-th Knot version of the model made
from run R. A re-run finds those and registers only what is missing. MLflow's numbers
survive: a version that fails holds back the later ones of its model (skipped, with the
reason) until a re-run copies it; only versions deleted in MLflow, which leave gaps,
shift the numbers after them.
A version's files are an artifact of its run in Knot (copied with the run, or now);
aliases follow the versions they point at, and an alias Knot's promotion policy guards
is skipped with the reason, never forced.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from knot.errors import Conflict, Forbidden, KnotError, NotFound
from knot.mlflow_import.model_meta import read_mlmodel
from knot.mlflow_import.runs import RunCopier
from knot.mlflow_import.summary import Summary
from knot.registry.entities import ModelVersion, VersionSource
from knot.registry.protocol import RegistryStore
from knot.tracking.entities import ArtifactRecord

__all__ = ["ModelCopier"]


class ModelCopier:
    def __init__(self, runs: RunCopier, registry: RegistryStore, summary: Summary) -> None:
        self.runs = runs
        self.source = runs.source
        self.registry = registry
        self.summary = summary

    def model(self, model: Any) -> None:
        """Copy one registered model with its versions and aliases."""
        name = model.name
        try:
            try:
                self.registry.get_model(name)
                self.summary.add("models", "present")
            except NotFound:
                self.registry.create_model(name, model.description or None)
                self.summary.add("models", "imported")
            versions = self.source.versions(name)
            existing = self.registry.list_versions(name)
        except KnotError as exc:
            self.summary.add("models", "failed", f"model {name!r}", exc.message)
            return
        numbers = self._versions(name, versions, existing)
        for alias, number in sorted((model.aliases or {}).items()):
            self._alias(name, alias, int(number), numbers)

    def _versions(
        self, name: str, versions: list[Any], existing: list[ModelVersion]
    ) -> dict[int, int]:
        """Register what is missing; MLflow version number -> Knot version number."""
        by_run: dict[str, list[ModelVersion]] = defaultdict(list)
        for version in existing:
            by_run[version.run_id].append(version)
        seen: Counter[str] = Counter()
        numbers: dict[int, int] = {}
        blocked: int | None = None
        for version in versions:
            number, run_id = int(version.version), version.run_id or ""
            what = f"{name} version {number}"
            k = seen[run_id]
            seen[run_id] += 1
            if k < len(by_run[run_id]):
                numbers[number] = by_run[run_id][k].version
                self.summary.add("versions", "present")
                continue
            if blocked is not None:
                # registering it now would give it the number the failed one should get
                why = f"it waits for version {blocked}, which failed, to keep MLflow's numbers"
                self.summary.add("versions", "skipped", what, why)
                continue
            try:
                created = self._register(name, version)
            except KnotError as exc:
                self.summary.add("versions", "failed", what, exc.message)
                blocked = number
                continue
            numbers[number] = created.version
            self.summary.add("versions", "imported")
        return numbers

    def _register(self, name: str, version: Any) -> ModelVersion:
        run_id, path = self._files(version)
        record = {r.path: r for r in self.runs.tracking.list_artifacts(run_id)}.get(path)
        if record is None:
            record = self._copy_source(version, run_id)
        with tempfile.TemporaryDirectory(prefix="knot-mlflow-") as tmp:
            if record.kind == "folder":
                folder = self.runs.artifacts.download_folder(record.digest, Path(tmp) / "m")
            else:
                folder = Path(tmp)  # a single file: no MLmodel beside it, refused below
            meta = read_mlmodel(folder)
        source = VersionSource(
            run_id=run_id,
            artifact_path=record.path,
            artifact_digest=record.digest,
            flavor=meta.flavor,
            signature=meta.signature,
            environment=meta.environment,
            description=version.description or None,
        )
        return self.registry.create_version(name, source)

    def _files(self, version: Any) -> tuple[str, str]:
        """The Knot run and artifact path that hold the version's files (maybe not yet)."""
        source = str(version.source or "")
        if source.startswith("models:/m-"):
            found = self.runs.model_paths.get(source.removeprefix("models:/"))
            if found is not None:
                return found
            if version.run_id in self.runs.unlisted:
                # a stand-in path now would leave the model twice on its run once the
                # run's artifacts are copied by the next import
                raise NotFound(
                    f"its logged model {source} belongs to run {version.run_id}, whose "
                    "artifacts could not be listed (see above); fix them and run the same "
                    "command again",
                    field="source",
                )
        root = self.runs.artifact_uris.get(version.run_id or "")
        if source.startswith("runs:/"):
            run_id, _, path = source.removeprefix("runs:/").partition("/")
            if run_id == version.run_id and path and "/" not in path.strip("/"):
                return run_id, path.strip("/")
        elif root and source.startswith(root.rstrip("/") + "/"):
            # MLflow 2 records the resolved location of the run's artifact as the source
            path = source.removeprefix(root.rstrip("/") + "/").strip("/")
            if path and "/" not in path:
                return version.run_id, path
        if not version.run_id:
            raise NotFound(
                f"it has no run (source {source!r}); a Knot version is registered from the "
                "run that produced it",
                field="run_id",
            )
        return version.run_id, f"registered/{version.name}/{version.version}"

    def _copy_source(self, version: Any, run_id: str) -> ArtifactRecord:
        """Copy the version's files from MLflow onto its run in Knot."""
        if run_id not in self.runs.present:
            raise NotFound(
                f"its run {run_id} is not in Knot (see the runs that failed or were deleted "
                "in MLflow)",
                field="run_id",
            )
        _, path = self._files(version)
        location = str(version.source)
        if location.startswith("models:/m-"):
            location = self.source.logged_model_location(location.removeprefix("models:/"))
        with tempfile.TemporaryDirectory(prefix="knot-mlflow-") as tmp:
            local = self.source.download_folder(location, Path(tmp))
            read_mlmodel(local)  # a folder Knot could not register is never stored
            record = self.runs.store_local(local, path)
        self.runs.tracking.log_artifact(run_id, record)
        return record

    def _alias(self, name: str, alias: str, number: int, numbers: dict[int, int]) -> None:
        what = f"{name}@{alias}"
        target = numbers.get(number)
        if target is None:
            self.summary.add("aliases", "failed", what, f"version {number} was not imported")
            return
        try:
            now = self.registry.get_model(name).aliases.get(alias)
            if now == target:
                self.summary.add("aliases", "present")
                return
            if now is not None:
                why = f"Knot's {what} points at version {now}, not {target}; left as it is"
                self.summary.add("aliases", "skipped", what, why)
                return
            self.registry.set_alias(name, alias, target)
        except (Conflict, Forbidden) as exc:  # a promotion policy guards it
            self.summary.add("aliases", "skipped", what, exc.message)
            return
        except KnotError as exc:
            self.summary.add("aliases", "failed", what, exc.message)
            return
        self.summary.add("aliases", "imported")
