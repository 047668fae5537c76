"""What the tracking store holds, as Pydantic models shared by the SDK, REST API and CLI."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

__all__ = [
    "AS_WHOLE",
    "ArtifactRecord",
    "Batch",
    "Experiment",
    "Flag",
    "Int64",
    "MetricPoint",
    "MetricSeries",
    "MetricSummary",
    "NewRun",
    "Run",
    "RunPage",
    "RunSource",
    "RunStatus",
    "Size",
    "within",
]


def _whole(value: object) -> object:
    # JSON's 3.0 is the integer 3; a boolean or a numeric string is no number at all
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Numbers a client sends: a boolean is not one (nor a numeric string), a number is not a
# boolean, and whole numbers stay within what the database holds, so a value past it is
# a 422 naming the field rather than an OverflowError. A whole number is declared as
# Annotated[int, Strict(), within(low, high), AS_WHOLE]: the validator comes last so the
# JSON Schema shows the bounds.
AS_WHOLE = BeforeValidator(_whole)
Flag = Annotated[bool, Strict()]


def within(low: int, high: int) -> Any:
    """low <= n < high."""
    return Field(ge=low, lt=high)


Int64 = Annotated[int, Strict(), within(-(2**63), 2**63), AS_WHOLE]
Size = Annotated[int, Strict(), within(0, 2**63), AS_WHOLE]


class _Model(BaseModel):
    # NaN and infinities travel over JSON as the strings "NaN", "Infinity", "-Infinity".
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True)


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class Experiment(_Model):
    experiment_id: str
    name: str
    description: str | None = None
    created_at: int


class RunSource(_Model):
    """Where a run came from, captured automatically when it starts."""

    git_commit: str | None = None
    git_dirty: Flag | None = None
    command: str | None = None
    python_version: str | None = None
    packages: dict[str, str] = {}


class MetricPoint(_Model):
    key: str
    value: float
    step: int
    timestamp: int


class MetricSeries(_Model):
    """One run's history of one metric as columns, thinned for a chart: `count` points
    were logged, `steps` and `values` are the ones kept (all of them when few enough)."""

    steps: list[int]
    values: list[float]
    count: int


class MetricSummary(_Model):
    key: str
    latest: float
    latest_step: int
    latest_timestamp: int
    min: float
    max: float
    count: int


class ArtifactRecord(_Model):
    path: str = Field(min_length=1, max_length=1024)
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size: Size
    kind: Literal["file", "folder"]  # a folder's digest names its manifest blob


class Run(_Model):
    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    user: str
    parent_run_id: str | None = None
    source: RunSource = RunSource()
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    metrics: dict[str, MetricSummary] = {}

    def metric(self, key: str) -> float:
        """Latest value of a metric (NaN if the run never logged it)."""
        summary = self.metrics.get(key)
        return summary.latest if summary else math.nan


class NewRun(_Model):
    """A run to create. The SDK makes these itself (the id is a client-side uuid) and
    sends them in the first batch, so a short run costs one transaction, not three."""

    run_id: str
    experiment_id: str
    user: str
    name: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] = {}
    source: RunSource = RunSource()
    start_time: Int64

    def as_run(self) -> Run:
        return Run(
            run_id=self.run_id,
            experiment_id=self.experiment_id,
            name=self.name or f"run-{self.run_id[:8]}",
            status=RunStatus.RUNNING,
            start_time=self.start_time,
            user=self.user,
            parent_run_id=self.parent_run_id,
            source=self.source,
            tags=dict(self.tags),
        )


class RunPage(_Model):
    runs: list[Run]
    next_page_token: str | None = None


@dataclass
class Batch:
    """Writes for one transaction, kept as plain tuples because this is the hot path.

    metrics: (run_id, key, value, step, timestamp_ms); params and tags: (run_id, key, value);
    starts: runs to create, applied first; ends: (run_id, status, end_time_ms), applied
    after the rest, so a run's start, its points and its end can commit together.
    writer_id and seq: set by the SDK's writer, which numbers its batches 1, 2, 3, ...;
    a store writes a numbered batch once, however often it is delivered.
    """

    starts: list[NewRun] = field(default_factory=list)

    metrics: list[tuple[str, str, float, int, int]] = field(default_factory=list)
    params: list[tuple[str, str, str]] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    ends: list[tuple[str, str, int]] = field(default_factory=list)
    writer_id: str | None = None
    seq: int | None = None

    def __len__(self) -> int:
        items = len(self.metrics) + len(self.params) + len(self.tags) + len(self.ends)
        return items + len(self.starts)

    def run_ids(self) -> set[str]:
        ids = {m[0] for m in self.metrics} | {p[0] for p in self.params}
        ids |= {s.run_id for s in self.starts}
        return ids | {t[0] for t in self.tags} | {e[0] for e in self.ends}
