"""The record of pipeline executions, step by step (tables pipeline_executions and
pipeline_steps): what `resume=` reuses and what `knot pipeline show` prints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from knot.errors import NotFound
from knot.pipelines.result import PipelineResult, StepResult
from knot.pipelines.tables import pipeline_executions, pipeline_steps
from knot.pipelines.values import StoredValue
from knot.store.database import now_ms
from knot.store.prepared import Prepared
from knot.tracking import validate

__all__ = [
    "FinishedStep",
    "end_execution",
    "finished_steps",
    "load_execution",
    "record_step",
    "start_execution",
]


@dataclass(frozen=True)
class FinishedStep:
    """A step an execution completed: what a resumed execution may reuse."""

    node: str
    cache_key: str | None
    output: StoredValue
    run_id: str


def start_execution(
    conn: Connection,
    *,
    run_id: str,
    pipeline: str,
    executor: str,
    params: dict[str, Any],
    resumed_from: str | None,
    nodes: Sequence[tuple[str, str, Sequence[str]]],
) -> None:
    """Record a new execution and its nodes (node key, step name, upstream nodes) as
    pending."""
    conn.execute(
        pipeline_executions.insert().values(
            run_id=run_id,
            pipeline=pipeline,
            status="running",
            executor=executor,
            params=json.dumps(params, sort_keys=True, default=repr),
            resumed_from=resumed_from,
            started_at=now_ms(),
        )
    )
    rows = [
        {"pipeline_run_id": run_id, "node": node, "position": i, "step": step}
        | {"upstream": json.dumps(list(upstream)), "status": "pending", "attempts": 0}
        for i, (node, step, upstream) in enumerate(nodes)
    ]
    if rows:
        conn.execute(pipeline_steps.insert(), rows)


def record_step(
    conn: Connection, pipeline_run_id: str, result: StepResult, inline: bytes | None = None
) -> int:
    """Store the final state of one step of an execution, with its output's bytes when
    they are inline; the rows changed (0 when the execution has no such step)."""
    return _RECORD_STEP.run(conn, _step_values(pipeline_run_id, result, inline))


def record_steps(
    conn: Connection, pipeline_run_id: str, steps: Sequence[tuple[StepResult, bytes | None]]
) -> str | None:
    """record_step of each (result, inline bytes) in `steps`, in one statement where the
    database counts the rows of each; the node of a step the execution does not have (the
    first), or None when every step was recorded."""
    if conn.dialect.name == "sqlite":  # executemany sums the rows changed
        rows = [_step_values(pipeline_run_id, r, inline) for r, inline in steps]
        if _RECORD_STEP.run(conn, rows) == len(rows):
            return None
    for result, inline in steps:
        if not record_step(conn, pipeline_run_id, result, inline):
            return result.name
    return None


def _step_values(pipeline_run_id: str, result: StepResult, inline: bytes | None) -> dict[str, Any]:
    ended = None
    if result.started_at is not None:
        ended = result.started_at + round(result.seconds * 1000)
    return {
        "pid": pipeline_run_id,
        "nid": result.name,
        "v_status": result.status,
        "v_cache_key": result.cache_key,
        "v_output_digest": result.output_digest,
        "v_output_kind": result.output_kind,
        "v_output_data": inline,
        "v_run_id": result.run_id,
        "v_from_run": result.from_run,
        "v_attempts": result.attempts,
        "v_error": result.error,
        "v_started_at": result.started_at,
        "v_ended_at": ended,
    }


def end_execution(conn: Connection, run_id: str, status: str, error: str | None) -> int:
    """Close execution `run_id`; the rows changed (0 when there is no such execution)."""
    t = pipeline_executions
    done = conn.execute(
        update(t).where(t.c.run_id == run_id).values(status=status, error=error, ended_at=now_ms())
    )
    return done.rowcount


def finished_steps(conn: Connection, run_id: str) -> dict[str, FinishedStep]:
    """The steps execution `run_id` completed (ran or reused), by node key."""
    _execution_row(conn, run_id)
    t = pipeline_steps
    rows = conn.execute(
        select(t).where(
            t.c.pipeline_run_id == run_id,
            t.c.status.in_(("ran", "cached")),
            t.c.output_digest.is_not(None),
        )
    )
    return {
        r.node: FinishedStep(
            r.node,
            r.cache_key,
            StoredValue(r.output_digest, r.output_kind, r.output_data),
            r.run_id,
        )
        for r in rows
    }


def load_execution(conn: Connection, run_id: str) -> PipelineResult:
    """An execution as a PipelineResult (without its output value)."""
    execution = _execution_row(conn, run_id)
    t = pipeline_steps
    rows = conn.execute(select(t).where(t.c.pipeline_run_id == run_id).order_by(t.c.position)).all()
    steps = [
        StepResult(
            name=r.node,
            status=r.status if r.status in ("ran", "cached", "failed") else "skipped",
            run_id=r.run_id,
            cache_key=r.cache_key,
            seconds=((r.ended_at or 0) - (r.started_at or 0)) / 1000,
            attempts=r.attempts,
            step=r.step,
            output_digest=r.output_digest,
            output_kind=r.output_kind,
            from_run=r.from_run,
            error=r.error,
            started_at=r.started_at,
            upstream=tuple(json.loads(r.upstream)),
        )
        for r in rows
    ]
    return PipelineResult(
        pipeline=execution.pipeline,
        run_id=run_id,
        status=execution.status,
        steps=steps,
        executor=execution.executor,
    )


def _execution_row(conn: Connection, run_id: str) -> Any:
    validate.check_run_id(run_id)
    t = pipeline_executions
    row = conn.execute(select(t).where(t.c.run_id == run_id)).first()
    if row is None:
        raise NotFound(
            f"no pipeline execution has run id {run_id!r}; pipeline runs carry the tag "
            "knot.pipeline (knot runs list -f \"tags.knot.pipeline = 'NAME'\")",
            field="run_id",
        )
    return row


# Built once: on a pipeline's per-step path, building a statement costs more than
# running it on SQLite.
_RECORD_STEP = Prepared(
    update(pipeline_steps)
    .where(
        pipeline_steps.c.pipeline_run_id == bindparam("pid"),
        pipeline_steps.c.node == bindparam("nid"),
    )
    .values(
        {
            c: bindparam(f"v_{c}")  # a SET parameter may not share its column's name
            for c in (
                "status",
                "cache_key",
                "output_digest",
                "output_kind",
                "output_data",
                "run_id",
                "from_run",
                "attempts",
                "error",
                "started_at",
                "ended_at",
            )
        }
    )
)
