"""What a pipeline execution asks of a store, so it runs the same against a SQL
database or a Knot server: its execution and step records, the step cache, and the
lineage edges of each step, every step's writes in one call (one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from knot.governance.lineage import Edge
from knot.pipelines.cache import CacheEntry
from knot.pipelines.executions import FinishedStep
from knot.pipelines.result import PipelineResult, StepResult
from knot.pipelines.values import StoredValue

__all__ = ["PipelineRecords"]


class PipelineRecords(Protocol):
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
        """Record a new execution and its nodes (key, step name, upstream) as pending."""
        ...

    def record_step(
        self,
        pipeline_run_id: str,
        result: StepResult,
        cache: StoredValue | None,
        edges: Sequence[Edge],
        inline: bytes | None = None,
    ) -> None:
        """One transaction: the step's final state (with `inline`, the bytes of its output
        when they are inline), its cache entry (`cache`, the output stored under the
        result's cache key; None records none) and its lineage edges."""
        ...

    def end_execution(self, run_id: str, status: str, error: str | None) -> None: ...

    def load_execution(self, run_id: str) -> PipelineResult:
        """An execution step by step (NotFound when there is none)."""
        ...

    def finished_steps(self, run_id: str) -> dict[str, FinishedStep]:
        """The steps execution `run_id` completed, by node (what `resume=` reuses)."""
        ...

    def lookup(self, key: str) -> CacheEntry | None:
        """The cache entry of `key`, if a step stored one."""
        ...
