"""The module-level tracking SDK: knot.start_run, knot.log_metric, knot.search_runs, ...

One Session per process, opened lazily from settings and reopened when KNOT_STORE,
KNOT_ARTIFACTS or KNOT_USER change, so tests and notebooks can switch stores.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from knot.config import settings
from knot.errors import NotFound
from knot.tracking.entities import ArtifactRecord, Experiment, MetricPoint, Run, RunStatus
from knot.tracking.run import ActiveRun
from knot.tracking.run_ids import pick_run_id
from knot.tracking.session import Session

__all__ = [
    "RunList",
    "active_run",
    "create_experiment",
    "download_artifact",
    "end_run",
    "flush",
    "get_experiment_by_name",
    "get_metric_history",
    "get_run",
    "list_artifacts",
    "list_experiments",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "reset",
    "resolve_run_id",
    "search_runs",
    "session",
    "set_tag",
    "set_tags",
    "start_run",
]

_lock = threading.Lock()
_session: Session | None = None


def session() -> Session:
    """The process's Session for the current settings."""
    global _session
    s = settings()
    with _lock:
        current = _session
        if current is not None and (current.store_uri, current.artifacts_uri, current.user) == (
            s.store_uri,
            s.artifacts_uri,
            s.user,
        ):
            return current
        if current is not None:
            current.close()
        _session = Session(s.store_uri, s.artifacts_uri, s.user, s.home)
        return _session


def reset() -> None:
    """Flush, end active runs as KILLED and close the store (the next call reopens)."""
    global _session
    with _lock:
        current, _session = _session, None
    if current is not None:
        current.close()


@atexit.register
def _end_runs_at_exit() -> None:
    current = _session
    if current is None:
        return
    while (run := current.active_run()) is not None:
        run.end(RunStatus.FINISHED)


def start_run(
    name: str | None = None,
    *,
    experiment: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
) -> ActiveRun:
    """Start (or resume, with run_id) a run; use it as a context manager.

    The block's outcome sets the status: FINISHED, FAILED if it raised, KILLED on Ctrl-C.
    """
    return session().start_run(
        name,
        experiment=experiment,
        nested=nested,
        tags=tags,
        run_id=run_id,
        parent_run_id=parent_run_id,
    )


def active_run() -> ActiveRun | None:
    return session().active_run() if _session is not None else None


def _current() -> ActiveRun:
    # Hot path: while a run is active, settings are not re-read on every log call.
    current = _session
    if current is not None:
        run = current.active_run()
        if run is not None:
            return run
    # Like MLflow: logging with no active run starts one.
    s = session()
    return s.active_run() or s.start_run()


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> Run | None:
    run = active_run()
    return run.end(status) if run is not None else None


def log_metric(key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
    _current().log_metric(key, value, step=step, timestamp=timestamp)


def log_metrics(metrics: Mapping[str, float], step: int = 0, timestamp: int | None = None) -> None:
    _current().log_metrics(metrics, step=step, timestamp=timestamp)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> ArtifactRecord:
    return _current().log_artifact(local_path, artifact_path)


def flush() -> None:
    """Make everything logged so far durable: on the store, or in the local spool while
    the store cannot be reached (sent from there when it can). Raises only when the
    spool cannot be written, or for logged values the store refused."""
    if _session is not None:
        _session.writer.flush()


def _flush_for_read() -> None:
    # a read should see what was spooled, so try the store for the spool now
    if _session is not None:
        _session.writer.flush(drain=True)


def resolve_run_id(text: str) -> str:
    """The full id of the run `text` names: its id, or a prefix only one run id has.
    NotFound when none has it; Invalid listing the matches when several do."""
    _flush_for_read()
    return pick_run_id(text, session().store.run_ids_starting)


def get_run(run_id: str) -> Run:
    """The run `run_id` names (its id or a unique prefix of it)."""
    _flush_for_read()
    store = session().store
    if len(run_id) != 32:
        run_id = pick_run_id(run_id, store.run_ids_starting)
    return store.get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    _flush_for_read()
    return session().store.get_metric_history(run_id, key)


def list_artifacts(run_id: str) -> list[ArtifactRecord]:
    return session().store.list_artifacts(run_id)


def download_artifact(run_id: str, artifact_path: str, dest: str | Path = ".") -> Path:
    return session().download_artifact(run_id, artifact_path, Path(dest))


def create_experiment(name: str, description: str | None = None) -> Experiment:
    return session().store.create_experiment(name, description)


def get_experiment_by_name(name: str) -> Experiment | None:
    return session().store.get_experiment_by_name(name)


def list_experiments() -> list[Experiment]:
    return session().store.list_experiments()


class RunList(list[Run]):
    """A page of runs; `next_page_token` fetches the next one."""

    next_page_token: str | None = None

    def to_pandas(self) -> Any:
        import pandas as pd

        rows = []
        for run in self:
            row: dict[str, Any] = {
                "run_id": run.run_id,
                "name": run.name,
                "status": run.status.value,
                "start_time": run.start_time,
            }
            row.update({f"params.{k}": v for k, v in run.params.items()})
            row.update({f"metrics.{k}": m.latest for k, m in run.metrics.items()})
            row.update({f"tags.{k}": v for k, v in run.tags.items()})
            rows.append(row)
        return pd.DataFrame(rows)


def search_runs(
    filter: str | None = None,
    *,
    experiment: str | Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> RunList:
    """Runs matching a filter such as `metrics.auc > 0.8 and params.model = "lgbm"`."""
    _flush_for_read()
    s = session()
    ids = list(experiment_ids or [])
    names = [experiment] if isinstance(experiment, str) else list(experiment or [])
    for name in names:
        found = s.find_experiment(name)
        if found is None:
            known = ", ".join(e.name for e in s.store.list_experiments()) or "none"
            raise NotFound(f"experiment {name!r} not found; experiments: {known}")
        ids.append(found.experiment_id)
    page = s.store.search_runs(ids or None, filter, order_by, max_results, page_token)
    out = RunList(page.runs)
    out.next_page_token = page.next_page_token
    return out
