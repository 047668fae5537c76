"""The driver of one pipeline execution: cache lookups, tracking runs, lineage and
topological scheduling of the traced DAG on an executor.

Every execution is a tracking run (tag knot.pipeline) with one child run per step.
A step whose cache key is known (or that the resumed execution finished) and whose
stored output is intact is not run: its child run is tagged knot.cache=hit and points
at the run that made the output. Otherwise the step is submitted as soon as its inputs
exist, so independent steps run side by side on parallel executors. Once a step has
failed, no new step starts (those running finish and are recorded); the rest are
"skipped", and `resume=` picks them up. After each step,
one transaction records its state, its cache entry and its lineage edges (inputs ->
step run -> output), so the cache and the lineage graph are made of the same digests.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from knot.pipelines import cache, executions
from knot.pipelines.executors import Executor
from knot.pipelines.graph import Handle, Node, Trace, map_handles
from knot.pipelines.records import PARAM_TEXT, ExecutionRecord, text
from knot.pipelines.result import (
    ExecutionStatus,
    PipelineFailed,
    PipelineResult,
    StepResult,
)
from knot.pipelines.step_task import StepOutcome, StepTask
from knot.pipelines.values import StoredValue, load_value
from knot.store.database import now_ms
from knot.tracking.entities import RunStatus

if TYPE_CHECKING:
    from rich.progress import Progress

    from knot.pipelines.protocol import PipelineRecords
    from knot.tracking.run import ActiveRun
    from knot.tracking.session import Session

__all__ = ["Execution"]


@dataclass
class _Running:
    node: Node
    run: ActiveRun
    key: str
    bound: inspect.BoundArguments


class Execution:
    """One run of a traced pipeline on an executor."""

    def __init__(
        self,
        *,
        pipeline: str,
        experiment: str,
        trace: Trace,
        output: Any,
        params: dict[str, Any],
        session: Session,
        records: PipelineRecords,
        executor: Executor,
        no_cache: bool,
        resume: str | None,
        reusable: dict[str, executions.FinishedStep],
        progress: Progress | None,
    ) -> None:
        self.pipeline, self.experiment, self.trace = pipeline, experiment, trace
        self.output, self.params = output, params
        self.session, self.records, self.executor = session, records, executor
        self.store = session.artifacts
        self.no_cache, self.resume, self.reusable = no_cache, resume, reusable
        self.outputs: dict[str, StoredValue] = {}
        self.results: dict[str, StepResult] = {}
        self.failed: StepResult | None = None
        self._progress = progress

    # the whole execution ------------------------------------------------------------
    def run(self) -> PipelineResult:
        tags = {"knot.pipeline": self.pipeline, "knot.executor": self.executor.name}
        if self.resume:
            tags["knot.resumed_from"] = self.resume
        root = self.session.start_run(
            self.pipeline, experiment=self.experiment, nested=True, tags=tags
        )
        self.root = root
        self.book = ExecutionRecord(
            session=self.session,
            records=self.records,
            pipeline=self.pipeline,
            experiment=self.experiment,
            root_run_id=root.run_id,
            caching={n.key: n.step.cache for n in self.trace.nodes},
            progress=self._progress,
        )
        params = {k: text(v) for k, v in self.params.items()}
        root.log_params(params)
        start: dict[str, Any] = {
            "run_id": root.run_id,
            "pipeline": self.pipeline,
            "executor": self.executor.name,
            "params": params,
            "resumed_from": self.resume,
            "nodes": [(n.key, n.step.name, _upstream(n)) for n in self.trace.nodes],
        }
        # the run and the execution's record commit together when they can
        together = getattr(self.records, "start_execution_with_runs", None)
        if together is None or not together(self.session.writer, **start):
            root.flush()
            self.records.start_execution(**start)
        try:
            self._schedule()
            output = map_handles(self.output, self._load) if self.failed is None else None
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt)
            self._end(RunStatus.KILLED if interrupted else RunStatus.FAILED, repr(exc))
            raise
        result = self._result("finished" if self.failed is None else "failed")
        if self.failed is not None:
            error = self._failure_message(self.failed)
            self._end(RunStatus.FAILED, error)
            raise PipelineFailed(error, result=result, step=self.failed.name)
        result.output = output
        self._end(RunStatus.FINISHED, None)
        return result

    def _schedule(self) -> None:
        waiting = {n.key: {u.key for u in n.upstream} for n in self.trace.nodes}
        readers: dict[str, list[Node]] = {}
        for node in self.trace.nodes:
            for upstream in node.upstream:
                readers.setdefault(upstream.key, []).append(node)
        ready = deque(n for n in self.trace.nodes if not waiting[n.key])
        inflight: dict[Future[StepOutcome], _Running] = {}
        capacity = self.executor.capacity

        def finished(node: Node) -> None:
            for reader in readers.get(node.key, []):
                waiting[reader.key].discard(node.key)
                if not waiting[reader.key]:
                    ready.append(reader)

        try:
            while ready or inflight:
                while (
                    ready and self.failed is None and (capacity is None or len(inflight) < capacity)
                ):
                    node = ready.popleft()
                    started = self._start(node)
                    if isinstance(started, tuple):
                        inflight[started[0]] = started[1]
                    else:
                        finished(node)
                if not inflight:
                    break
                self.book.flush()  # before waiting, maybe for long
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for future in done:
                    running = inflight.pop(future)
                    if self._finish(running, _outcome(future, running.node)):
                        finished(running.node)
        except BaseException:
            for future, running in inflight.items():
                future.cancel()
                running.run.end(RunStatus.KILLED)
            raise
        for node in self.trace.nodes:
            if node.key not in self.results:
                skipped = StepResult(node.key, "skipped", None, None, 0.0, 0, node.step.name)
                self._record(dataclasses.replace(skipped, upstream=_upstream(node)))

    # one step -----------------------------------------------------------------------
    def _start(self, node: Node) -> tuple[Future[StepOutcome], _Running] | StepResult:
        """Reuse the step's output if possible; otherwise create its run and submit it."""
        clock = now_ms()
        args = map_handles(node.args, lambda h: self.outputs[h.node.key])
        kwargs = map_handles(node.kwargs, lambda h: self.outputs[h.node.key])
        bound = node.step.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = cache.cache_key(node.step.code_digest, dict(bound.arguments))
        reused = self._reusable(node, key)
        if reused is not None:
            output, from_run, source = reused
            run = self.book.step_run(
                node, key, bound, {"knot.cache": source, "knot.cached_from": from_run}
            )
            seconds = (now_ms() - clock) / 1000
            result = StepResult(
                node.key,
                "cached",
                run.run_id,
                key,
                seconds,
                0,
                node.step.name,
                output.digest,
                output.kind,
                from_run,
                started_at=clock,
                upstream=_upstream(node),
            )
            self.outputs[node.key] = output
            # written with the next write: before a step's code runs, or at the end
            self._record(result, bound, output, cached=True, ending=run, defer=True)
            return result
        state = "miss" if node.step.cache and not self.no_cache else "off"
        run = self.book.step_run(node, key, bound, {"knot.cache": state})
        if not self.executor.in_process:
            self.session.forget(run)  # active in the worker, not here
            run.flush()
        task = StepTask(
            node=node.key,
            fn=node.step.fn,
            args=tuple(args),
            kwargs=kwargs,
            retries=node.step.retries,
            retry_delay=node.step.retry_delay,
            run_id=run.run_id,
            attach_run=not self.executor.in_process,
            store_uri=self.session.store_uri,
            artifacts_uri=self.session.artifacts_uri,
            user=self.session.user,
        )
        self.book.flush()  # what finished is on the store before this step's code runs
        try:
            future = self.executor.submit(node.step, task)
        except Exception as exc:  # e.g. Ray pickles the arguments right away
            future = Future()
            future.set_exception(exc)
        except BaseException:
            run.end(RunStatus.KILLED)  # Ctrl-C inside an in-process step
            raise
        return future, _Running(node, run, key, bound)

    def _reusable(self, node: Node, key: str) -> tuple[StoredValue, str, str] | None:
        finished = self.reusable.get(node.key)
        if (
            finished is not None
            and finished.cache_key == key
            and cache.usable(finished.output, self.store, node.key)
        ):
            return finished.output, finished.run_id, "resume"
        if not node.step.cache or self.no_cache:
            return None
        entry = self.records.lookup(key)
        if entry is not None and cache.usable(entry.output, self.store, node.key):
            return entry.output, entry.run_id, "hit"
        return None

    def _finish(self, running: _Running, outcome: StepOutcome) -> bool:
        node, run = running.node, running.run
        seconds = (outcome.ended_ms - outcome.started_ms) / 1000
        tags = {"knot.attempts": str(outcome.attempts)}
        tags |= {f"knot.retry.{i + 1}": e[:PARAM_TEXT] for i, e in enumerate(outcome.retried)}
        if outcome.output is None:
            run.set_tags({**tags, "knot.error": (outcome.error or "")[:PARAM_TEXT]})
            result = StepResult(
                node.key,
                "failed",
                run.run_id,
                running.key,
                seconds,
                outcome.attempts,
                node.step.name,
                error=outcome.error,
                started_at=outcome.started_ms,
                upstream=_upstream(node),
            )
            self.failed = result
            self._record(result, ending=run)
            return False
        run.set_tags({**tags, "knot.output_digest": outcome.output.digest})
        self.outputs[node.key] = outcome.output
        result = StepResult(
            node.key,
            "ran",
            run.run_id,
            running.key,
            seconds,
            outcome.attempts,
            node.step.name,
            outcome.output.digest,
            outcome.output.kind,
            started_at=outcome.started_ms,
            upstream=_upstream(node),
        )
        self._record(result, running.bound, outcome.output, ending=run)
        return True

    def _record(
        self,
        result: StepResult,
        bound: inspect.BoundArguments | None = None,
        output: StoredValue | None = None,
        cached: bool = False,
        ending: ActiveRun | None = None,
        defer: bool = False,
    ) -> None:
        self.results[result.name] = result
        self.book.record(result, bound, output, cached=cached, ending=ending, defer=defer)

    # the end ------------------------------------------------------------------------
    def _load(self, handle: Handle) -> Any:
        value = self.outputs[handle.node.key]
        return load_value(value, self.store)

    def _result(self, status: ExecutionStatus) -> PipelineResult:
        steps = [self.results[n.key] for n in self.trace.nodes]
        return PipelineResult(
            self.pipeline,
            self.root.run_id,
            status,
            steps,
            executor=self.executor.name,
        )

    def _end(self, status: RunStatus, error: str | None) -> None:
        self.book.flush()
        # the run's end and the execution's end commit together when they can
        self.root.end(status, flush=False)
        state, writer = status.value.lower(), self.session.writer
        together = getattr(self.records, "end_execution_with_runs", None)
        if together is None or not together(writer, self.root.run_id, state, error):
            writer.flush()
            self.records.end_execution(self.root.run_id, state, error)

    def _failure_message(self, failed: StepResult) -> str:
        tries = f"{failed.attempts} attempt{'s' if failed.attempts != 1 else ''}"
        return (
            f"pipeline {self.pipeline!r} failed: step {failed.name!r} raised {failed.error} "
            f"(after {tries}; its run is {failed.run_id}). Fix it and run again with "
            f"resume={self.root.run_id!r} (knot pipeline run ... --resume {self.root.run_id}) "
            "to reuse the steps that finished"
        )


def _upstream(node: Node) -> tuple[str, ...]:
    return tuple(u.key for u in node.upstream)


def _outcome(future: Future[StepOutcome], node: Node) -> StepOutcome:
    """The worker's outcome, or a failed one when the task never reported back."""
    try:
        return future.result()
    except Exception as exc:
        clock = now_ms()
        error = (
            f"{type(exc).__name__}: {exc} (the executor could not run the step: check "
            "that its arguments pickle and that the worker did not crash)"
        )
        return StepOutcome(node.key, None, 1, clock, clock, error)
