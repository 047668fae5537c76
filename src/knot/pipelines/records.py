"""What an execution writes as it goes: a child run per step, the step's row in
pipeline_steps, its cache entry, and its lineage edges (inputs -> step run -> output),
each step's rows in one transaction.

A step that ran commits as it finishes. Steps reused without running (cache hits,
resumed steps) wait and commit together with the next write: before any step's code
starts, before the driver waits for running steps, and at the end. Nothing can kill the
process between them but a signal from outside in the moment between two lookups, and
redoing a reuse costs a lookup; a burst of hits is then one commit, not one each.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from knot.config import pinned, settings
from knot.governance.lineage import Edge
from knot.pipelines.graph import Node, map_nested
from knot.pipelines.result import StepResult
from knot.pipelines.values import StoredValue, lineage_node
from knot.tracking.entities import RunStatus

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from knot.pipelines.protocol import PipelineRecords
    from knot.tracking.run import ActiveRun
    from knot.tracking.session import Session

__all__ = ["PARAM_TEXT", "ExecutionRecord", "text"]

#: one step's records: its result, its cache entry, its lineage edges, inline output bytes
StepRecord = tuple[StepResult, StoredValue | None, list[Edge], bytes | None]

PARAM_TEXT = 500  # longer parameter values and errors are cut in the step runs


class ExecutionRecord:
    """The writes of one execution, whose tracking run is `root_run_id`."""

    def __init__(
        self,
        *,
        session: Session,
        records: PipelineRecords,
        pipeline: str,
        experiment: str,
        root_run_id: str,
        caching: dict[str, bool],
        progress: Progress | None,
    ) -> None:
        self.session, self.records = session, records
        self.pipeline, self.experiment, self.root_run_id = pipeline, experiment, root_run_id
        self.caching = caching  # node -> whether the step caches its output
        self.store = session.artifacts
        self.progress = progress
        self._bar: TaskID | None = None
        if progress is not None:
            self._bar = progress.add_task(pipeline, total=len(caching))
        self._nodes: dict[str, tuple[str, str]] = {}
        self._pending: list[StepRecord] = []  # ended runs' steps not yet written
        # read once: each step's records need the user and home (audit rows, audit key)
        self._settings = settings()

    def step_run(
        self, node: Node, key: str, bound: inspect.BoundArguments, tags: dict[str, str]
    ) -> ActiveRun:
        tags = {
            "knot.pipeline": self.pipeline,
            "knot.pipeline_run": self.root_run_id,
            "knot.step": node.step.name,
            "knot.cache_key": key,
            **tags,
        }
        params: dict[str, str] = {}
        for name, value in bound.arguments.items():
            inputs = _digests(value)
            if inputs:
                tags[f"knot.input.{name}"] = ",".join(inputs)[:PARAM_TEXT]
            else:
                params[name] = text(value)
        run = self.session.start_run(
            node.key,
            experiment=self.experiment,
            parent_run_id=self.root_run_id,
            tags=tags,
        )
        run.log_params(params)
        return run

    def record(
        self,
        result: StepResult,
        bound: inspect.BoundArguments | None = None,
        output: StoredValue | None = None,
        cached: bool = False,
        ending: ActiveRun | None = None,
        defer: bool = False,
    ) -> None:
        """One transaction: the step's state, its cache entry and its lineage edges, and
        the end of its run `ending` (with the run's buffered rows) when the tracking
        store is the same database; otherwise the run ends first. With `defer` (a step
        reused without running) the write waits for the next one, or for flush()."""
        edges: list[Edge] = []
        if bound is not None and output is not None and result.run_id is not None:
            step_run = ("run", result.run_id)
            edges.append(Edge("run", self.root_run_id, "step", *step_run))
            for kind, node_id in self._input_nodes(bound):
                edges.append(Edge(kind, node_id, "input", *step_run))
            relation = "reused" if cached else "output"
            edges.append(Edge(*step_run, relation, *self._node_of(output)))
        caches = result.status == "ran" and output is not None and self.caching[result.name]
        cache = output if caches else None
        inline = output.data if output is not None else None
        if ending is None:
            self.flush()
            with pinned(self._settings):
                self.records.record_step(self.root_run_id, result, cache, edges, inline)
        else:
            failed = result.status == "failed"
            ending.end(RunStatus.FAILED if failed else RunStatus.FINISHED, flush=False)
            self._pending.append((result, cache, edges, inline))
            if not defer:
                self.flush()
        if self.progress is not None and self._bar is not None:
            self.progress.update(self._bar, advance=1, description=f"{result.name} {result.status}")

    def flush(self) -> None:
        """Write the steps waiting (deferred reuses, and the step just recorded) and the
        ends of their runs: one transaction when the tracking store is the same database,
        otherwise the runs first, then each step's records."""
        if not self._pending:
            return
        steps, self._pending = self._pending, []
        together = getattr(self.records, "record_steps_with_runs", None)
        writer = self.session.writer
        with pinned(self._settings):
            if together is None or not together(writer, self.root_run_id, steps):
                writer.flush()
                for step in steps:
                    self.records.record_step(self.root_run_id, *step)

    def _input_nodes(self, bound: inspect.BoundArguments) -> list[tuple[str, str]]:
        from knot.data.entities import DatasetVersion
        from knot.registry.entities import ModelVersion

        found: list[tuple[str, str]] = []
        for value in bound.arguments.values():
            map_nested(value, StoredValue, lambda v: found.append(self._node_of(v)))
            map_nested(value, DatasetVersion, lambda v: found.append(("dataset", v.ref)))
            map_nested(
                value,
                ModelVersion,
                lambda v: found.append(("model_version", f"{v.name}/{v.version}")),
            )
        return found

    def _node_of(self, value: StoredValue) -> tuple[str, str]:
        node = self._nodes.get(value.digest)
        if node is None:
            node = self._nodes[value.digest] = lineage_node(value, self.store)
        return node


def _digests(value: Any) -> list[str]:
    found: list[str] = []
    map_nested(value, StoredValue, lambda v: found.append(v.digest))
    return found


def text(value: Any) -> str:
    """A value as a param or tag text, cut to PARAM_TEXT characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= PARAM_TEXT else text[: PARAM_TEXT - 1] + "…"
