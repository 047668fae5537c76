"""ActiveRun: the handle a training script logs through (`with knot.start_run() as run:`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from knot.errors import Conflict
from knot.tracking import validate
from knot.tracking.entities import ArtifactRecord, Run, RunStatus

if TYPE_CHECKING:
    from knot.data.entities import DatasetVersion
    from knot.data.rules.ruleset import RuleSet
    from knot.tracking.session import Session

__all__ = ["ActiveRun"]


class ActiveRun:
    """A run being recorded. Metrics, params and tags are buffered and written in batches."""

    def __init__(self, session: Session, info: Run) -> None:
        self._session = session
        self.info = info
        self.run_id = info.run_id
        self.experiment_id = info.experiment_id
        self._params: dict[str, str] = dict(info.params)
        self._keys: set[str] = set()  # metric keys already validated
        self.ended = False

    def __repr__(self) -> str:
        return f"<ActiveRun {self.info.name} {self.run_id}>"

    # logging -------------------------------------------------------------------
    def log_metric(
        self, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        """Record one point; returns at once, the background writer makes it durable."""
        if key not in self._keys:
            validate.check_keys([key], "metric")
            self._keys.add(key)
        if type(value) is not float:
            value = validate.metric_value(key, value)
        if type(step) is not int:
            step = validate.step_value(key, step)
        ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
        self._session.writer.add_metric(self.run_id, key, value, step, ts)

    def log_metrics(
        self, metrics: Mapping[str, float], step: int = 0, timestamp: int | None = None
    ) -> None:
        new = [k for k in metrics if k not in self._keys]
        if new:
            validate.check_keys(new, "metric")
            self._keys.update(new)
        step = validate.step_value("metrics", step)
        ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
        run_id = self.run_id
        points = [
            (run_id, k, v if type(v) is float else validate.metric_value(k, v), step, ts)
            for k, v in metrics.items()
        ]
        self._session.writer.add_metrics(points)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params are immutable: logging a different value for a key raises Conflict now."""
        validate.check_keys(params, "param")
        items = []
        for key, raw in params.items():
            value = validate.param_value(key, raw)
            old = self._params.get(key)
            if old is not None and old != value:
                raise Conflict(
                    f"param {key!r} of run {self.run_id} is already {old!r}; params are "
                    f"immutable, so {value!r} was refused. Log it under another key",
                    field="params",
                )
            if old is None:
                items.append((self.run_id, key, value))
        for _, key, value in items:
            self._params[key] = value
        if items:
            self._session.writer.add_params(items)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        validate.check_keys(tags, "tag")
        items = [(self.run_id, k, validate.param_value(k, v, "tag")) for k, v in tags.items()]
        self._session.writer.add_tags(items)

    def log_artifact(
        self, local_path: str | Path, artifact_path: str | None = None
    ) -> ArtifactRecord:
        """Store a file or a whole folder by content digest and record it on this run."""
        return self._session.log_artifact(self.run_id, Path(local_path), artifact_path)

    def log_text(self, text: str, artifact_path: str) -> ArtifactRecord:
        return self._session.log_bytes(self.run_id, text.encode(), artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> ArtifactRecord:
        import json

        body = json.dumps(data, indent=2, sort_keys=True, default=str).encode()
        return self._session.log_bytes(self.run_id, body, artifact_path)

    # datasets --------------------------------------------------------------------
    def use_dataset(self, ref: str) -> DatasetVersion:
        """Record the exact dataset version `ref` names (churn@latest -> churn@3) as an
        input of this run; returns that version."""
        from knot.tracking.run_datasets import use_dataset

        return use_dataset(self, ref)

    def log_dataset(
        self,
        name: str,
        source: object,
        *,
        rules: RuleSet | Mapping[str, Any] | str | Path | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> DatasetVersion:
        """Register `source` as a new version of dataset `name` made by this run, derived
        from the datasets the run used."""
        from knot.tracking.run_datasets import log_dataset

        return log_dataset(self, name, source, rules=rules, tags=tags, description=description)

    # life cycle ----------------------------------------------------------------
    def flush(self) -> None:
        self._session.writer.flush()

    def end(self, status: RunStatus | str = RunStatus.FINISHED, *, flush: bool = True) -> Run:
        """Flush everything, then mark the run ended. Safe to call twice. With
        flush=False the end waits in the writer's buffer for the caller's flush (a
        pipeline commits it with the step's record: writer.flush_with)."""
        if self.ended:
            return self.info
        status = RunStatus(status)
        end_time = int(time.time() * 1000)
        self.ended = True
        self._session.forget(self)
        # The status rides in the same batch as the last points: one transaction.
        self._session.writer.add_end(self.run_id, status.value, end_time)
        if flush:
            self._session.writer.flush()
        self.info = self.info.model_copy(update={"status": status, "end_time": end_time})
        return self.info

    def refresh(self) -> Run:
        """Flush and read the run back from the store."""
        self.flush()
        self.info = self._session.store.get_run(self.run_id)
        return self.info

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end(RunStatus.FINISHED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end(RunStatus.KILLED)
        else:
            self.end(RunStatus.FAILED)
