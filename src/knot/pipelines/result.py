"""What a pipeline execution returns: per step, whether it ran or came from the cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from knot.errors import KnotError, NotFound

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

__all__ = ["ExecutionStatus", "PipelineFailed", "PipelineResult", "StepResult", "StepStatus"]

#: ran: executed now; cached: reused (from the cache, or from the run being resumed);
#: failed: raised after its retries; skipped: not started because an earlier step failed
StepStatus = Literal["ran", "cached", "failed", "skipped"]
ExecutionStatus = Literal["running", "finished", "failed", "killed"]


@dataclass(frozen=True)
class StepResult:
    name: str  # the node: the step's name, or name-2, name-3 for later calls
    status: StepStatus
    run_id: str | None  # the step's child run (None for a skipped step)
    cache_key: str | None
    seconds: float
    attempts: int
    step: str = ""  # the function's name
    output_digest: str | None = None
    output_kind: str | None = None  # how the output is stored (knot.pipelines.values)
    from_run: str | None = None  # for a cached step: the step run that made the output
    error: str | None = None
    started_at: int | None = None  # ms since the epoch
    upstream: tuple[str, ...] = ()  # the steps whose outputs it read


@dataclass
class PipelineResult:
    pipeline: str
    run_id: str
    status: ExecutionStatus
    steps: list[StepResult] = field(default_factory=list)
    output: Any = None
    executor: str = "inprocess"

    def __getitem__(self, name: str) -> StepResult:
        for result in self.steps:
            if result.name == name:
                return result
        known = ", ".join(s.name for s in self.steps)
        raise NotFound(f"pipeline {self.pipeline!r} has no step {name!r}; steps: {known}")

    @property
    def ran(self) -> list[str]:
        return [s.name for s in self.steps if s.status == "ran"]

    @property
    def cached(self) -> list[str]:
        return [s.name for s in self.steps if s.status == "cached"]

    def summary(self) -> str:
        counts = {k: sum(s.status == k for s in self.steps) for k in ("ran", "cached", "failed")}
        return (
            f"{self.pipeline} {self.status}: {counts['ran']} ran, {counts['cached']} cached, "
            f"{counts['failed']} failed of {len(self.steps)} steps"
        )

    def table(self) -> Table:
        from rich.table import Table

        table = Table(title=f"pipeline {self.pipeline} run {self.run_id} ({self.executor})")
        for column in ("step", "status", "seconds", "attempts", "run id", "output"):
            table.add_column(column)
        styles = {"ran": "green", "cached": "cyan", "failed": "red", "skipped": "dim"}
        for s in self.steps:
            table.add_row(
                s.name,
                f"[{styles[s.status]}]{s.status}[/]",
                f"{s.seconds:.3f}",
                str(s.attempts),
                s.run_id or "",
                (s.output_digest or "")[:19] if s.error is None else s.error[:60],
            )
        return table

    def __rich__(self) -> Group:
        from rich.console import Group
        from rich.text import Text

        return Group(self.table(), Text(self.summary()))


class PipelineFailed(KnotError):
    """A step failed after its retries; `result` says what ran, and `step` which failed."""

    kind = "pipeline_failed"

    def __init__(self, message: str, *, result: PipelineResult, step: str) -> None:
        super().__init__(message, field="step")
        self.result = result
        self.step = step
