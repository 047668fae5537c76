"""/api/v1 routes of pipeline executions and the step cache (knot.pipelines): what a
client running a pipeline records step by step, and the cache lookups that let it skip
steps whose output is stored. Each write is one transaction. Reading needs a viewer,
recording an editor (the app-wide rule for non-GET routes)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, Path, status
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from knot.errors import Invalid
from knot.governance.lineage import Edge
from knot.governance.sql_store import SqlGovernance
from knot.pipelines.cache import CacheEntry
from knot.pipelines.executions import FinishedStep
from knot.pipelines.result import PipelineResult, StepResult
from knot.pipelines.sql_store import SqlPipelineRecords
from knot.pipelines.values import INLINE_LIMIT, StoredValue
from knot.server.deps import get_governance

__all__ = ["router"]

router = APIRouter(prefix="/pipelines", tags=["pipelines"])

RUN_ID = r"^[0-9a-f]{32}$"
RunId = Annotated[str, StringConstraints(pattern=RUN_ID)]
PathRunId = Annotated[str, Path(pattern=RUN_ID)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Key = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
Kind = Literal["parquet", "npy", "pickle", "model_version", "dataset"]  # values.KINDS
Text = Annotated[str, StringConstraints(max_length=100_000)]
#: an inline output's bytes, base64 (standard alphabet, padded)
Inline = Annotated[
    str,
    StringConstraints(max_length=4 * ((INLINE_LIMIT + 2) // 3), pattern=r"^[A-Za-z0-9+/]*={0,2}$"),
]
MAX_NODES = 10_000


def get_records(
    governance: Annotated[SqlGovernance, Depends(get_governance)],
) -> SqlPipelineRecords:
    """FastAPI dependency: pipeline records on the server's database."""
    return SqlPipelineRecords(governance.db)


Records = Annotated[SqlPipelineRecords, Depends(get_records)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeBody(_Body):
    node: Name
    step: Name
    upstream: list[Name] = Field(max_length=MAX_NODES)


class ExecutionBody(_Body):
    run_id: RunId
    pipeline: Name
    executor: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    params: dict[Name, Annotated[str, StringConstraints(max_length=1000)]] = Field(max_length=1000)
    resumed_from: RunId | None
    nodes: list[NodeBody] = Field(min_length=1, max_length=MAX_NODES)


class StepBody(_Body):
    """StepResult with the limits a stored row has."""

    name: Name
    status: Literal["ran", "cached", "failed", "skipped"]
    run_id: RunId | None
    cache_key: Key | None
    seconds: Annotated[float, Field(ge=0, le=1e9)]
    attempts: Annotated[int, Field(strict=True, ge=0, le=10_000)]
    step: Name
    output_digest: Digest | None = None
    output_kind: Kind | None = None
    from_run: RunId | None = None
    error: Text | None = None
    started_at: Annotated[int, Field(strict=True, ge=0, le=2**52)] | None = None
    upstream: list[Name] = Field(default_factory=list, max_length=MAX_NODES)

    @field_validator("seconds")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("seconds must be a finite number")
        return value

    @model_validator(mode="after")
    def _output(self) -> Self:
        if (self.output_digest is None) != (self.output_kind is None):
            raise ValueError(
                f"output_digest ({self.output_digest}) and output_kind ({self.output_kind}) "
                "go together: send both, or neither for a step without an output"
            )
        return self


class OutputBody(_Body):
    digest: Digest
    kind: Kind
    data: Inline | None = None  # the output's bytes when they are inline

    @model_validator(mode="after")
    def _data(self) -> Self:
        _check_inline(self.data, self.digest, "cache.data")
        return self


class EdgeBody(_Body):
    from_kind: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    from_id: Name
    relation: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    to_kind: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    to_id: Name


class RecordBody(_Body):
    result: StepBody
    cache: OutputBody | None = None
    edges: list[EdgeBody] = Field(default_factory=list, max_length=MAX_NODES)
    inline: Inline | None = None  # the bytes of the step's output when they are inline

    @model_validator(mode="after")
    def _inline(self) -> Self:
        if self.inline is not None and self.result.output_digest is None:
            raise ValueError(
                f"step {self.result.name!r} sends inline output bytes but no output_digest; "
                "send the output's digest and kind with its bytes, or no bytes"
            )
        _check_inline(self.inline, self.result.output_digest or "", "inline")
        return self


def _check_inline(data: str | None, digest: str, name: str) -> None:
    """Inline bytes must be valid base64 of at most INLINE_LIMIT bytes whose sha256 is
    the output's digest: the digest is the output's identity, so bytes under another
    digest would be a wrong value served from the cache."""
    raw = _decode(data, name)
    if raw is None:
        return
    if len(raw) > INLINE_LIMIT:
        raise ValueError(
            f"{name} holds {len(raw)} bytes, over the inline limit of {INLINE_LIMIT}; "
            "store a larger output as a blob in the artifact store"
        )
    actual = "sha256:" + hashlib.sha256(raw).hexdigest()
    if actual != digest:
        raise ValueError(
            f"{name}'s bytes have digest {actual}, not the output's {digest}; send the "
            "bytes the digest was computed from"
        )


def _decode(data: str | None, name: str) -> bytes | None:
    if data is None:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{name} is not valid base64 ({data[:20]!r}...); encode the bytes with "
            "standard, padded base64"
        ) from None


class EndBody(_Body):
    status: Literal["finished", "failed", "killed"]
    error: Text | None = None


@router.post("/executions", status_code=status.HTTP_201_CREATED)
def start_execution(body: ExecutionBody, records: Records) -> None:
    """Record a new execution of a pipeline and its steps, all pending."""
    records.start_execution(
        run_id=body.run_id,
        pipeline=body.pipeline,
        executor=body.executor,
        params=dict(body.params),
        resumed_from=body.resumed_from,
        nodes=[(n.node, n.step, n.upstream) for n in body.nodes],
    )


@router.post("/executions/{run_id}/steps", status_code=status.HTTP_204_NO_CONTENT)
def record_step(run_id: PathRunId, body: RecordBody, records: Records) -> None:
    """One step's final state, its cache entry and lineage edges, in one transaction;
    404 when the execution has no such step."""
    r = body.result
    if body.cache is not None and (r.status != "ran" or r.cache_key is None or r.run_id is None):
        raise Invalid(
            f"step {r.name!r} is {r.status} (cache_key {r.cache_key}, run {r.run_id}); only a "
            "step that ran, with a cache key and a run, stores a cache entry",
            field="cache",
        )
    step_run = ("run", r.run_id)
    for e in body.edges:
        if r.run_id is None or step_run not in ((e.from_kind, e.from_id), (e.to_kind, e.to_id)):
            raise Invalid(
                f"edge {e.from_kind}:{e.from_id} -{e.relation}-> {e.to_kind}:{e.to_id} does "
                f"not touch the run of step {r.name!r} ({r.run_id}); a step records only its "
                "own edges",
                field="edges",
            )
    result = StepResult(**{**r.model_dump(), "upstream": tuple(r.upstream)})
    output = None
    if body.cache is not None:
        data = _decode(body.cache.data, "cache.data")
        output = StoredValue(body.cache.digest, body.cache.kind, data)
    edges = [Edge(**e.model_dump()) for e in body.edges]
    records.record_step(run_id, result, output, edges, _decode(body.inline, "inline"))


@router.post("/executions/{run_id}/end", status_code=status.HTTP_204_NO_CONTENT)
def end_execution(run_id: PathRunId, body: EndBody, records: Records) -> None:
    """Close an execution with its status; 404 when there is none."""
    records.end_execution(run_id, body.status, body.error)


@router.get("/executions/{run_id}")
def load_execution(run_id: PathRunId, records: Records) -> PipelineResult:
    """What an execution did, step by step (without its output value)."""
    return records.load_execution(run_id)


@router.get("/executions/{run_id}/finished")
def finished_steps(run_id: PathRunId, records: Records) -> dict[str, FinishedStep]:
    """The steps the execution completed, by node: what `resume=` reuses."""
    return records.finished_steps(run_id)


@router.get("/cache/{key}")
def lookup(
    key: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], records: Records
) -> CacheEntry | None:
    """The cache entry of a step's cache key, or null."""
    return records.lookup(key)
