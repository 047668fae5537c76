"""RestTrackingStore: the TrackingStore protocol over HTTP, against `knot server`.

It raises the same error types as the local store: the server answers every error as
{"error", "message", "field"} and `knot.errors.from_dict` rebuilds it here. One
`httpx.Client` (keep-alive) serves every call, from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import TypeAdapter

from knot.errors import KnotError, NotFound, Unavailable, from_dict
from knot.tracking.entities import (
    ArtifactRecord,
    Batch,
    Experiment,
    MetricPoint,
    MetricSeries,
    Run,
    RunPage,
    RunSource,
    RunStatus,
)
from knot.tracking.thinning import check_histories_call
from knot.tracking.validate import check_batch

__all__ = ["RestTrackingStore", "encode_batch"]

_API = "/api/v1"
_JSON = {"content-type": "application/json"}
_EXPERIMENTS = TypeAdapter(list[Experiment])
_POINTS = TypeAdapter(list[MetricPoint])
_SERIES = TypeAdapter(dict[str, MetricSeries])
_ARTIFACTS = TypeAdapter(list[ArtifactRecord])
_IDS = TypeAdapter(list[str])


class RestTrackingStore:
    """A tracking store that lives behind a Knot server at `uri` (http://host:port)."""

    def __init__(
        self,
        uri: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.uri = uri.rstrip("/")
        self._owns_client = client is None
        if client is None:
            from knot.client._http import make_client

            # keep-alive, connect retries, and KNOT_TOKEN as the bearer token
            client = make_client(self.uri, timeout=timeout, connect_timeout=connect_timeout)
        self._client = client

    def __repr__(self) -> str:
        return f"RestTrackingStore({self.uri!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # transport -------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        params: Mapping[str, str] | httpx.QueryParams | None = None,
        *,
        retryable: bool = False,
    ) -> bytes:
        url = self.uri + _API + path
        try:
            response = self._client.request(
                method, url, content=body, params=params, headers=_JSON if body else None
            )
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"the Knot server at {self.uri} did not answer {method} {path} in time "
                f"({type(exc).__name__}); it may be overloaded or stopped. A write that timed "
                "out may or may not have been applied"
            ) from exc
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach the Knot server at {self.uri} ({exc or type(exc).__name__}); "
                "start one with `knot server --store <uri>`, or point KNOT_STORE at a running one"
            ) from exc
        if response.status_code >= 400:
            error = self._error(response, method, path)
            if response.status_code >= 500 and retryable and not isinstance(error, Unavailable):
                # The server failed on its side and rolled the write back: the same request
                # may succeed later, so the writer keeps the batch (in its spool) and retries.
                raise Unavailable(
                    f"{self.uri} failed on {method} {path} (HTTP {response.status_code}: "
                    f"{error.message}); nothing of it was written"
                ) from error
            raise error
        return response.content

    def _error(self, response: httpx.Response, method: str, path: str) -> KnotError:
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and "error" in payload and "message" in payload:
            return from_dict(payload)
        code = response.status_code
        text = response.text[:200].strip()
        if code in (502, 503, 504):
            return Unavailable(f"{self.uri} answered HTTP {code} to {method} {path}: {text}")
        return KnotError(
            f"{self.uri} answered HTTP {code} to {method} {path}, not a Knot error ({text!r}); "
            "is KNOT_STORE pointing at a Knot server?"
        )

    def _post(self, path: str, payload: Any) -> bytes:
        return self._call("POST", path, orjson.dumps(payload))

    # experiments -------------------------------------------------------------------
    def create_experiment(self, name: str, description: str | None = None) -> Experiment:
        data = self._post("/experiments", {"name": name, "description": description})
        return Experiment.model_validate_json(data)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.model_validate_json(
            self._call("GET", f"/experiments/{_q(experiment_id)}")
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            data = self._call("GET", "/experiments/by-name", params={"name": name})
        except NotFound as exc:
            if exc.field == "name":
                return None
            raise
        return Experiment.model_validate_json(data)

    def list_experiments(self) -> list[Experiment]:
        return _EXPERIMENTS.validate_json(self._call("GET", "/experiments"))

    # runs ----------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        user: str,
        name: str | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        source: RunSource | None = None,
        start_time: int | None = None,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "user": user,
            "name": name,
            "run_id": run_id,
            "parent_run_id": parent_run_id,
            "tags": dict(tags) if tags is not None else None,
            "source": source.model_dump(mode="json") if source is not None else None,
            "start_time": start_time,
        }
        return Run.model_validate_json(self._post("/runs", body))

    def set_run_status(self, run_id: str, status: RunStatus, end_time: int | None = None) -> Run:
        body = {"status": str(status), "end_time": end_time}
        return Run.model_validate_json(self._post(f"/runs/{_q(run_id)}/status", body))

    def get_run(self, run_id: str) -> Run:
        return Run.model_validate_json(self._call("GET", f"/runs/{_q(run_id)}"))

    def run_ids_starting(self, prefix: str, limit: int = 11) -> list[str]:
        data = self._call("GET", "/runs/ids", params={"prefix": prefix, "limit": str(limit)})
        return _IDS.validate_json(data)

    def log_batch(self, batch: Batch) -> None:
        """One request per batch; the server writes it in one transaction, or not at all.

        Unavailable when the server cannot be reached or fails on its side (5xx): the
        batch may be sent again, and a numbered one (writer_id, seq) is written once."""
        if len(batch):
            check_batch(batch)  # the same checks as the local store, before anything is sent
            self._call("POST", "/batch", encode_batch(batch), retryable=True)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        data = self._call("GET", f"/runs/{_q(run_id)}/metrics/history", params={"key": key})
        return _POINTS.validate_json(data)

    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int = 2000
    ) -> dict[str, MetricSeries]:
        # the same checks as the local store, so a bad call fails alike without a request
        wanted = check_histories_call(run_ids, key, max_points)
        if not wanted:
            return {}
        query = httpx.QueryParams({"run_id": wanted, "key": key, "max_points": max_points})
        answer = self._call("GET", "/runs/metric-histories", params=query)
        return _SERIES.validate_json(answer)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        body = {
            "experiment_ids": list(experiment_ids) if experiment_ids is not None else None,
            "filter": filter,
            "order_by": list(order_by) if order_by is not None else None,
            "max_results": max_results,
            "page_token": page_token,
        }
        return RunPage.model_validate_json(self._post("/runs/search", body))

    # artifact records ------------------------------------------------------------------
    def log_artifact(self, run_id: str, record: ArtifactRecord) -> None:
        self._post(f"/runs/{_q(run_id)}/artifacts", record.model_dump(mode="json"))

    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]:
        return _ARTIFACTS.validate_json(self._call("GET", f"/runs/{_q(run_id)}/artifacts"))


def _q(segment: str) -> str:
    # ids go into the path: never let a "/" or "?" in one change the route
    return quote(str(segment), safe="")


def encode_batch(batch: Batch) -> bytes:
    """The columnar JSON body of POST /api/v1/batch (see knot.server.routes.batch)."""
    body: dict[str, Any] = {}
    if batch.starts:
        body["starts"] = [new.model_dump(mode="json") for new in batch.starts]
    if batch.metrics:
        run_id, key, value, step, ts = _columns(batch.metrics, 5)
        body["metrics"] = {
            "run_id": _one_or_all(run_id),
            "key": key,
            "value": _json_floats(value),
            "step": step,
            "timestamp": ts,
        }
    for name, items in (("params", batch.params), ("tags", batch.tags)):
        if items:
            run_id, key, text = _columns(items, 3)
            body[name] = {"run_id": _one_or_all(run_id), "key": key, "value": text}
    if batch.ends:
        run_id, status, end_time = _columns(batch.ends, 3)
        body["ends"] = {
            "run_id": _one_or_all(run_id),
            "status": [str(s) for s in status],
            "end_time": end_time,
        }
    if batch.writer_id is not None:
        body["writer_id"] = batch.writer_id
        body["seq"] = batch.seq
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    # zip(*rows) makes an iterator per row: 100k rows cost 60-120 ms, this a few
    return [list(map(itemgetter(i), rows)) for i in range(width)]


def _one_or_all(run_ids: list[str]) -> str | list[str]:
    # most batches come from one run: send its id once instead of once per row
    first = run_ids[0]
    return first if run_ids.count(first) == len(run_ids) else run_ids


def _json_floats(values: list[float]) -> Sequence[float | str]:
    """Values with NaN and the infinities as the strings JSON can carry (orjson would write
    null). A finite sum proves every value finite, so the usual batch costs one C loop."""
    try:
        total = sum(values)
    except TypeError:
        return values  # not all numbers: the server's 422 names the bad one
    if total - total == 0:
        return values
    return [
        v if v - v == 0 else "NaN" if v != v else "Infinity" if v > 0 else "-Infinity"
        for v in values
    ]
