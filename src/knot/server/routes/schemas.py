"""Request bodies of the REST API. Responses are the store's own entities."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    model_validator,
)

from knot.tracking.entities import AS_WHOLE, Int64, NewRun, RunSource, RunStatus, within
from knot.tracking.sql.run_search import MAX_RESULTS

__all__ = [
    "BatchBody",
    "EndColumns",
    "ExperimentCreate",
    "KeyValueColumns",
    "MetricColumns",
    "RunCreate",
    "RunSearch",
    "RunStatusUpdate",
]

WriterId = Annotated[
    str, Field(pattern=r"^[0-9a-f]{32}$", description="The sending SDK writer's id.")
]
BatchNumber = Annotated[
    int,
    Strict(),  # true is not 1
    within(1, 2**63),
    Field(
        description="The batch's number from its writer (1, 2, 3, ... in order); a number "
        "that writer already had written is not written again."
    ),
]

# a metric's value: a number (never a boolean), or one of the strings JSON needs for the
# floats it cannot write
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _metric_value(value: object) -> object:
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        shown = repr(value[:40])
        raise ValueError(f"{shown} is not a number; send a number, NaN, Infinity or -Infinity")
    return value


MetricValue = Annotated[
    float,
    Strict(),
    BeforeValidator(_metric_value),
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"enum": sorted(_NON_FINITE)}]}, mode="validation"
    ),
]


class _Body(BaseModel):
    # a misspelt field is an error that names it, never silently ignored
    model_config = ConfigDict(extra="forbid")


class ExperimentCreate(_Body):
    name: str
    description: str | None = None


class RunCreate(_Body):
    experiment_id: str
    user: str
    name: str | None = None
    run_id: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] | None = None
    source: RunSource | None = None
    start_time: Int64 | None = None


class RunStatusUpdate(_Body):
    status: RunStatus
    end_time: Int64 | None = None


class RunSearch(_Body):
    experiment_ids: list[str] | None = None
    filter: str | None = None
    order_by: list[str] | None = None
    max_results: Annotated[int, Strict(), Field(ge=1, le=MAX_RESULTS), AS_WHOLE] = 1000
    page_token: str | None = None


class _Columns(_Body):
    """Columns of equal length; `run_id` may be one string that applies to every row."""

    run_id: str | list[str]

    def rows(self) -> int:
        raise NotImplementedError

    def run_ids(self) -> list[str]:
        if isinstance(self.run_id, str):
            return [self.run_id] * self.rows()
        return self.run_id

    @model_validator(mode="after")
    def _same_lengths(self) -> _Columns:
        lengths = {name: len(value) for name, value in self if isinstance(value, list)}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise ValueError(f"columns must have one value per row, but {shown}")
        return self


class MetricColumns(_Columns):
    key: list[str]
    value: list[MetricValue]
    step: list[Int64]
    timestamp: list[Int64]

    def rows(self) -> int:
        return len(self.key)


class KeyValueColumns(_Columns):
    key: list[str]
    value: list[str]

    def rows(self) -> int:
        return len(self.key)


class EndColumns(_Columns):
    status: list[RunStatus]
    end_time: list[Int64]

    def rows(self) -> int:
        return len(self.status)


class BatchBody(_Body):
    """One transaction of writes, columnar: each section is a table of equal-length lists."""

    starts: list[NewRun] | None = None
    metrics: MetricColumns | None = None
    params: KeyValueColumns | None = None
    tags: KeyValueColumns | None = None
    ends: EndColumns | None = None
    # The SDK's writer numbers its batches; a number the store has written is not
    # written again, so a batch whose answer was lost can be sent twice safely.
    writer_id: WriterId | None = None
    seq: BatchNumber | None = None

    @model_validator(mode="after")
    def _numbered_whole(self) -> BatchBody:
        if (self.writer_id is None) != (self.seq is None):
            raise ValueError("writer_id and seq go together: send both or neither")
        return self
