"""Request bodies of the REST API. Responses are the store's own entities."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knot.tracking.entities import NewRun, RunSource, RunStatus

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

# int64, so a value that the database cannot hold is a 422 naming it, not a 500
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
WriterId = Annotated[
    str, Field(pattern=r"^[0-9a-f]{32}$", description="The sending SDK writer's id.")
]
BatchNumber = Annotated[
    int,
    Field(
        strict=True,  # true is not 1
        ge=1,
        le=2**63 - 1,
        description="The batch's number from its writer (1, 2, 3, ... in order); a number "
        "that writer already had written is not written again.",
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
    max_results: int = 1000
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
    value: list[float]  # "NaN", "Infinity" and "-Infinity" are accepted as strings
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
