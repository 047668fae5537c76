"""SqlPipelineRecords: pipeline executions, steps and the step cache in the metadata
database (knot.pipelines.executions and .cache), each call one transaction. A Knot
server serves the pipeline routes with this class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict, NotFound
from knot.governance.lineage import Edge, add_edges
from knot.pipelines import cache, executions
from knot.pipelines.cache import CacheEntry
from knot.pipelines.executions import FinishedStep
from knot.pipelines.result import PipelineResult, StepResult
from knot.pipelines.values import StoredValue
from knot.store.database import Database

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
        try:
            with self.db.write() as conn:
                executions.start_execution(
                    conn,
                    run_id=run_id,
                    pipeline=pipeline,
                    executor=executor,
                    params=params,
                    resumed_from=resumed_from,
                    nodes=nodes,
                )
        except IntegrityError:
            raise Conflict(
                f"pipeline execution {run_id} is already recorded (or names a node twice); "
                "each execution has its own run id and unique node keys",
                field="run_id",
            ) from None

    def record_step(
        self,
        pipeline_run_id: str,
        result: StepResult,
        cache: StoredValue | None,
        edges: Sequence[Edge],
    ) -> None:
        with self.db.write() as conn:
            if not executions.record_step(conn, pipeline_run_id, result):
                raise NotFound(
                    f"pipeline execution {pipeline_run_id} has no step {result.name!r}; "
                    "record the steps of an execution that was started with them",
                    field="name",
                )
            if cache is not None:
                _cache_record(conn, result, cache)
            add_edges(conn, edges)

    def end_execution(self, run_id: str, status: str, error: str | None) -> None:
        with self.db.write() as conn:
            if not executions.end_execution(conn, run_id, status, error):
                raise NotFound(
                    f"no pipeline execution has run id {run_id!r}; start it first",
                    field="run_id",
                )

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


def _cache_record(conn: Any, result: StepResult, output: StoredValue) -> None:
    cache.record(conn, result.cache_key or "", result.step, output, result.run_id or "")
