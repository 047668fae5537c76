"""One step execution, as a worker does it: load the inputs, call the function (retrying
by the step's policy), store the output; wherever it runs, the same code.

A worker talks only to the stores named in the task (never to the driver's settings,
so a Ray worker on another machine with another working folder still finds them) and
reports back a StepOutcome: the output's digest, the attempts, and any error as text.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from knot.errors import KnotError
from knot.pipelines.graph import map_nested
from knot.pipelines.values import StoredValue, load_value, store_value
from knot.store.database import now_ms

if TYPE_CHECKING:
    from knot.artifacts import ArtifactStore

__all__ = ["StepOutcome", "StepTask", "execute_task"]


@dataclass(frozen=True)
class StepTask:
    """Everything a worker needs to run one step call."""

    node: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]  # inputs are StoredValue markers, the rest parameters
    kwargs: dict[str, Any]
    retries: int
    retry_delay: float
    run_id: str  # the step's tracking run, active while the function runs
    attach_run: bool  # True when the worker is not the driver's process
    store_uri: str
    artifacts_uri: str
    user: str


@dataclass(frozen=True)
class StepOutcome:
    node: str
    output: StoredValue | None
    attempts: int
    started_ms: int
    ended_ms: int
    error: str | None = None  # "ValueError: bad row 3", None on success
    detail: str | None = None  # the traceback of the last attempt
    retried: list[str] = field(default_factory=list)  # the errors of earlier attempts
    pid: int = 0


def execute_task(task: StepTask) -> StepOutcome:
    """Run one step call to completion; never raises for the step's own errors."""
    started = now_ms()
    run = _attach(task) if task.attach_run else None
    store = _artifacts(task.artifacts_uri)
    attempts, retried = 0, list[str]()
    try:
        while True:
            attempts += 1
            try:
                args = map_nested(task.args, StoredValue, lambda v: _load(v, store))
                kwargs = map_nested(task.kwargs, StoredValue, lambda v: _load(v, store))
            except KnotError as exc:
                return _failed(task, started, attempts, retried, f"its input: {exc.message}")
            try:
                value = task.fn(*args, **kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempts > task.retries:
                    return _failed(task, started, attempts, retried, error, traceback.format_exc())
                retried.append(error)
                time.sleep(task.retry_delay)
                continue
            try:
                output = store_value(value, store)
            except KnotError as exc:
                return _failed(task, started, attempts, retried, exc.message)
            return StepOutcome(
                task.node, output, attempts, started, now_ms(), retried=retried, pid=os.getpid()
            )
    finally:
        if run is not None:
            _detach(run)


def _load(value: StoredValue, store: ArtifactStore) -> Any:
    return load_value(value, store)


def _failed(
    task: StepTask,
    started: int,
    attempts: int,
    retried: list[str],
    error: str,
    detail: str | None = None,
) -> StepOutcome:
    return StepOutcome(
        task.node, None, attempts, started, now_ms(), error, detail, retried, os.getpid()
    )


@lru_cache(maxsize=8)
def _artifacts(uri: str) -> ArtifactStore:
    from knot.artifacts import open_blob_store

    return open_blob_store(uri)


def _attach(task: StepTask) -> Any:
    """Make the step's run the active one in this worker, so knot.log_metric and
    knot.log_model inside the step record on it."""
    from knot.tracking.fluent import session

    os.environ["KNOT_STORE"] = task.store_uri
    os.environ["KNOT_ARTIFACTS"] = task.artifacts_uri
    os.environ["KNOT_USER"] = task.user
    return session().start_run(run_id=task.run_id, nested=True)


def _detach(run: Any) -> None:
    # The driver ends the run with the step's status; the worker only makes its own
    # logging durable and stops treating the run as active.
    from knot.tracking.fluent import session

    run.flush()
    session().forget(run)
