"""RestPipelines: pipeline executions, step records and the step cache through a Knot
server's /api/v1/pipelines routes; each step's record, cache entry and lineage edges
are one request, one transaction on the server. Step outputs are blobs in the artifact
store the session names (KNOT_ARTIFACTS), which the workers write directly, or, when
small, inline bytes sent with the step's record (base64 in the JSON)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import TypeAdapter

from knot.client._http import ServerClient
from knot.governance.lineage import Edge
from knot.pipelines.cache import CacheEntry
from knot.pipelines.executions import FinishedStep
from knot.pipelines.result import PipelineResult, StepResult
from knot.pipelines.values import StoredValue
from knot.tracking import validate

__all__ = ["RestPipelines", "open_rest_pipelines"]

_RESULT = TypeAdapter(PipelineResult)
_FINISHED = TypeAdapter(dict[str, FinishedStep])
_ENTRY = TypeAdapter(CacheEntry | None)
_STEP = TypeAdapter(StepResult)
_API = "/api/v1/pipelines"


class RestPipelines(ServerClient):
    """The PipelineRecords of the Knot server at `uri` (http://host:port)."""

    base_path = _API

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
        body = {
            "run_id": run_id,
            "pipeline": pipeline,
            "executor": executor,
            "params": {k: str(v) for k, v in params.items()},
            "resumed_from": resumed_from,
            "nodes": [{"node": n, "step": s, "upstream": list(u)} for n, s, u in nodes],
        }
        self._call("POST", "/executions", body)

    def record_step(
        self,
        pipeline_run_id: str,
        result: StepResult,
        cache: StoredValue | None,
        edges: Sequence[Edge],
        inline: bytes | None = None,
    ) -> None:
        validate.check_run_id(pipeline_run_id)
        body = {
            "result": _STEP.dump_python(result, mode="json"),
            "cache": _output(cache) if cache is not None else None,
            "inline": _base64(inline),
            "edges": [
                {k: v for k, v in dataclasses.asdict(e).items() if k != "created_at"} for e in edges
            ],
        }
        self._call("POST", f"/executions/{pipeline_run_id}/steps", body)

    def end_execution(self, run_id: str, status: str, error: str | None) -> None:
        validate.check_run_id(run_id)
        self._call("POST", f"/executions/{run_id}/end", {"status": status, "error": error})

    def load_execution(self, run_id: str) -> PipelineResult:
        validate.check_run_id(run_id)
        return _RESULT.validate_json(self._call("GET", f"/executions/{run_id}"))

    def finished_steps(self, run_id: str) -> dict[str, FinishedStep]:
        validate.check_run_id(run_id)
        return _FINISHED.validate_json(self._call("GET", f"/executions/{run_id}/finished"))

    def lookup(self, key: str) -> CacheEntry | None:
        return _ENTRY.validate_json(self._call("GET", f"/cache/{key}"))


def _output(value: StoredValue) -> dict[str, str | None]:
    return {"digest": value.digest, "kind": value.kind, "data": _base64(value.data)}


def _base64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def open_rest_pipelines(tracking: object, uri: str) -> RestPipelines:
    """The pipeline records of the Knot server `tracking` talks to, on its pool."""
    client = getattr(tracking, "_client", None)
    return RestPipelines(uri, client=client if isinstance(client, httpx.Client) else None)
