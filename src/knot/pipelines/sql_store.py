"""SqlPipelineRecords: pipeline executions, steps and the step cache in the metadata
database (knot.pipelines.executions and .cache), each call one transaction. A Knot
server serves the pipeline routes with this class."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict, NotFound
from knot.governance.lineage import Edge, add_edges
from knot.pipelines import cache, executions
from knot.pipelines.cache import CacheEntry
from knot.pipelines.executions import FinishedStep
from knot.pipelines.result import PipelineResult, StepResult
from knot.pipelines.values import StoredValue
from knot.store.database import Database

if TYPE_CHECKING:
    from knot.tracking.buffer.writer import BatchWriter

__all__ = ["SqlPipelineRecords"]


class SqlPipelineRecords:
    """The PipelineRecords on `db` (shared with the session's tracking store)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start_execution(
        self,
        *,
        run_id: str,
        pipeline: str,
        executor: str,
        params: dict[str, Any],
        resumed_from: str | None,
        nodes: Sequence[tuple[str, str, Sequence[str]]],
    ) -> None:
        start = functools.partial(
            executions.start_execution,
            run_id=run_id,
            pipeline=pipeline,
            executor=executor,
            params=params,
            resumed_from=resumed_from,
            nodes=nodes,
        )
        try:
            with self.db.write() as conn:
                start(conn)
        except IntegrityError:
            raise _already(run_id) from None

    def start_execution_with_runs(
        self,
        writer: BatchWriter,
        *,
        run_id: str,
        pipeline: str,
        executor: str,
        params: dict[str, Any],
        resumed_from: str | None,
        nodes: Sequence[tuple[str, str, Sequence[str]]],
    ) -> bool:
        """start_execution in the transaction that flushes `writer` (the execution's run
        is in its buffer), committed without waiting for the disk like a step's record:
        the execution's end, committed durably, flushes it. False, having written
        nothing, when the writer's store is not this database."""
        start = functools.partial(
            executions.start_execution,
            run_id=run_id,
            pipeline=pipeline,
            executor=executor,
            params=params,
            resumed_from=resumed_from,
            nodes=nodes,
        )
        try:
            return self._with_runs(writer, start, durable=False)
        except IntegrityError:
            raise _already(run_id) from None

    def record_step(
        self,
        pipeline_run_id: str,
        result: StepResult,
        cache: StoredValue | None,
        edges: Sequence[Edge],
        inline: bytes | None = None,
    ) -> None:
        with self.db.write() as conn:
            _record_step(conn, pipeline_run_id, result, cache, edges, inline)

    def record_steps_with_runs(
        self,
        writer: BatchWriter,
        pipeline_run_id: str,
        steps: Sequence[tuple[StepResult, StoredValue | None, Sequence[Edge], bytes | None]],
    ) -> bool:
        """record_step of each of `steps` (result, cache, edges, inline) in the
        transaction that flushes `writer` (their runs, ended, are in its buffer): one
        commit for the runs and the steps' records together.
        The commit does not wait for the disk: a killed process loses nothing, an OS
        crash can lose the steps of a running execution (they run again), and the
        execution's end, committed durably, flushes them all. False, having written
        nothing, when the writer's store is not this database (the caller flushes and
        calls record_step)."""
        return self._with_runs(
            writer,
            lambda conn: _record_steps(conn, pipeline_run_id, steps),
            durable=False,
        )

    def end_execution_with_runs(
        self, writer: BatchWriter, run_id: str, status: str, error: str | None
    ) -> bool:
        """end_execution in the transaction that flushes `writer` (the execution's run,
        ended, is in its buffer): the run's final state is committed once. False, having
        written nothing, when the writer's store is not this database."""
        return self._with_runs(writer, lambda conn: _end_execution(conn, run_id, status, error))

    def _with_runs(
        self, writer: BatchWriter, also: Callable[[Connection], None], durable: bool = True
    ) -> bool:
        store = writer.store
        log_batch_with = getattr(store, "log_batch_with", None)
        if log_batch_with is None or getattr(store, "db", None) is not self.db:
            return False
        writer.flush_with(lambda batch: log_batch_with(batch, also, durable=durable))
        return True

    def end_execution(self, run_id: str, status: str, error: str | None) -> None:
        with self.db.write() as conn:
            _end_execution(conn, run_id, status, error)

    def load_execution(self, run_id: str) -> PipelineResult:
        with self.db.read() as conn:
            return executions.load_execution(conn, run_id)

    def finished_steps(self, run_id: str) -> dict[str, FinishedStep]:
        with self.db.read() as conn:
            return executions.finished_steps(conn, run_id)

    def lookup(self, key: str) -> CacheEntry | None:
        with self.db.read() as conn:
            return cache.lookup(conn, key)

    def close(self) -> None:
        """Nothing to close: the database belongs to the session's tracking store."""


def _record_step(
    conn: Connection,
    pipeline_run_id: str,
    result: StepResult,
    cache: StoredValue | None,
    edges: Sequence[Edge],
    inline: bytes | None,
) -> None:
    _record_steps(conn, pipeline_run_id, [(result, cache, edges, inline)])


def _record_steps(
    conn: Connection,
    pipeline_run_id: str,
    steps: Sequence[tuple[StepResult, StoredValue | None, Sequence[Edge], bytes | None]],
) -> None:
    """Each step's state, cache entry and edges: one statement per table for them all."""
    missing = executions.record_steps(conn, pipeline_run_id, [(s[0], s[3]) for s in steps])
    if missing is not None:
        raise NotFound(
            f"pipeline execution {pipeline_run_id} has no step {missing!r}; "
            "record the steps of an execution that was started with them",
            field="name",
        )
    for result, output, _, _ in steps:
        if output is not None:
            _cache_record(conn, result, output)
    add_edges(conn, [edge for step in steps for edge in step[2]])


def _already(run_id: str) -> Conflict:
    return Conflict(
        f"pipeline execution {run_id} is already recorded (or names a node twice); "
        "each execution has its own run id and unique node keys",
        field="run_id",
    )


def _end_execution(conn: Connection, run_id: str, status: str, error: str | None) -> None:
    if not executions.end_execution(conn, run_id, status, error):
        raise NotFound(
            f"no pipeline execution has run id {run_id!r}; start it first", field="run_id"
        )


def _cache_record(conn: Any, result: StepResult, output: StoredValue) -> None:
    cache.record(conn, result.cache_key or "", result.step, output, result.run_id or "")
