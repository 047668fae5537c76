"""Executors: where step calls run. A one-method interface (submit a task, get a future)
with three backends, chosen by name: in this process, a local process pool, or Ray.

The driver (knot.pipelines.runner) decides what runs when, in topological
order as futures finish; an executor only runs what it is given, so independent steps
run in parallel on the process pool and on Ray, and one after another in-process.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Protocol

from knot.errors import Invalid
from knot.pipelines.step_task import StepOutcome, StepTask, execute_task

if TYPE_CHECKING:
    from knot.pipelines.steps import Step

__all__ = [
    "EXECUTORS",
    "Executor",
    "InProcessExecutor",
    "ProcessExecutor",
    "open_executor",
]

EXECUTORS = ("inprocess", "process", "ray")


class Executor(Protocol):
    """Runs step tasks. `in_process` executors run them in the driver's process and
    thread (the step's run is then active in the driver's own session)."""

    name: str
    in_process: bool
    capacity: int | None  # how many tasks to keep in flight (None: no limit)

    def check(self, step: Step) -> None:
        """Raise Invalid if this executor cannot run `step` (before anything runs)."""
        ...

    def submit(self, step: Step, task: StepTask) -> Future[StepOutcome]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Runs each step at once, in the caller's thread: the simplest, and easy to debug."""

    name = "inprocess"
    in_process = True
    capacity: int | None = 1

    def check(self, step: Step) -> None:
        return None

    def submit(self, step: Step, task: StepTask) -> Future[StepOutcome]:
        future: Future[StepOutcome] = Future()
        future.set_result(execute_task(dataclasses.replace(task, fn=step.fn)))
        return future

    def close(self) -> None:
        return None


class ProcessExecutor:
    """A local pool of worker processes, spawned fresh (no inherited threads or database
    connections; the driver's environment and sys.path as they are now). Steps must be
    defined at module level, so a worker can import them."""

    name = "process"
    in_process = False

    def __init__(self, max_workers: int | None = None) -> None:
        workers = max_workers or os.cpu_count() or 1
        self.capacity: int | None = workers
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def check(self, step: Step) -> None:
        if "<locals>" in step.qualname:
            raise Invalid(
                f"step {step.name!r} is defined inside a function ({step.qualname}), so "
                "worker processes cannot import it; define it at module level, or use "
                "executor='inprocess' or 'ray'",
                field="executor",
            )

    def submit(self, step: Step, task: StepTask) -> Future[StepOutcome]:
        # The Step pickles by reference: the worker imports its module and calls it.
        return self._pool.submit(execute_task, dataclasses.replace(task, fn=step))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def open_executor(
    name: str, *, ray_address: str | None = None, max_workers: int | None = None
) -> Executor:
    """The executor called `name` ("inprocess", "process" or "ray")."""
    if max_workers is not None and (isinstance(max_workers, bool) or max_workers < 1):
        raise Invalid(f"max_workers must be >= 1, got {max_workers!r}", field="max_workers")
    if ray_address is not None and name != "ray":
        raise Invalid(
            f"a Ray address ({ray_address!r}) was given with executor {name!r}; "
            "use executor='ray' with it, or drop the address",
            field="ray_address",
        )
    if name == "inprocess":
        return InProcessExecutor()
    if name == "process":
        return ProcessExecutor(max_workers)
    if name == "ray":
        from knot.pipelines.ray_executor import RayExecutor

        return RayExecutor(ray_address, max_workers)
    raise Invalid(f"unknown executor {name!r}; use one of {', '.join(EXECUTORS)}", field="executor")
