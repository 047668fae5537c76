"""How an MLflow route is declared: a plain function of a `Call` (the request's arguments
and the app's stores) that returns the JSON answer as a dict.

MLflow sends GET arguments as a query string (a list as a repeated key) and the others
as a JSON body. Arguments are read and checked here by hand, not by a Pydantic model:
MLflow's field names and loose typing (numbers as strings, int64 as strings) differ
from Knot's schemas, and every mistake must come back as INVALID_PARAMETER_VALUE in
MLflow's shape. The function runs in the thread pool (the stores are synchronous)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from knot.artifacts import ArtifactStore, open_blob_store
from knot.errors import Invalid, KnotError
from knot.registry.protocol import RegistryStore
from knot.server.mlflow.errors import mlflow_error_response
from knot.tracking.protocol import TrackingStore

__all__ = ["EXACT", "Call", "json_response", "route"]

_ARTIFACTS_LOCK = threading.Lock()

Endpoint = Callable[[Request], Awaitable[Response]]
#: the routes without path parameters, by (method, path): see fast_path
EXACT: dict[tuple[str, str], tuple[Endpoint, APIRoute]] = {}


def _invalid(name: str, value: Any, expected: str) -> Invalid:
    """MLflow's wording (its tests and users match on it), then what was expected."""
    try:
        shown = orjson.dumps(value).decode()
    except TypeError:
        shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return Invalid(
        f"Invalid value {shown} for parameter {name!r} supplied; it must be {expected}",
        field=name,
    )


class Call:
    """One request's arguments and the app's stores."""

    def __init__(self, request: Request, args: dict[str, Any]) -> None:
        self.request = request
        self.args = args

    # stores ------------------------------------------------------------------
    @property
    def store(self) -> TrackingStore:
        store: TrackingStore = self.request.app.state.store_holder.get()
        return store

    @property
    def registry(self) -> RegistryStore:
        registry: RegistryStore = self.request.app.state.registry_holder.get()
        return registry

    @property
    def artifacts(self) -> ArtifactStore:
        state = self.request.app.state
        opened: ArtifactStore | None = getattr(state, "mlflow_artifacts", None)
        if opened is None:
            with _ARTIFACTS_LOCK:
                opened = getattr(state, "mlflow_artifacts", None)
                if opened is None:
                    opened = state.mlflow_artifacts = open_blob_store(state.artifacts_uri)
        return opened

    # arguments -----------------------------------------------------------------
    def text(self, name: str, *aliases: str) -> str:
        """A required string argument (the first of `name` and its `aliases` given)."""
        value = self.maybe_text(name, *aliases)
        if value is None or value == "":
            raise Invalid(f"Missing value for required parameter {name!r}", field=name)
        return value

    def maybe_text(self, name: str, *aliases: str) -> str | None:
        for key in (name, *aliases):
            value = self.args.get(key)
            if value is None:
                continue
            if isinstance(value, list) and self.request.method == "GET":
                value = value[0] if value else None  # a query string key given twice
            if not isinstance(value, str):
                # MLflow's proto fields are typed: a number where a string belongs is a
                # client bug to report, not a value to convert
                raise _invalid(key, value, "a string")
            return value
        return None

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.args.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise _invalid(name, value, "a whole number") from None
        if not -(2**63) <= number < 2**63:
            raise _invalid(name, value, "a 64-bit whole number")
        return number

    def number(self, name: str) -> float:
        value = self.args.get(name)
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf"))
        if isinstance(value, bool) or value is None:
            raise _invalid(name, value, "a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _invalid(name, value, "a number") from None

    def strings(self, name: str) -> list[str]:
        value = self.args.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
            raise _invalid(name, value, "a list of strings")
        return [str(v) for v in items]

    def records(self, name: str) -> list[dict[str, Any]]:
        """A list of objects, such as tags [{"key": ..., "value": ...}]."""
        value = self.args.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _invalid(name, value, "a list of objects")
        return value

    def key_values(self, name: str) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for item in self.records(name):
            key, value = item.get("key"), item.get("value", "")
            if not isinstance(key, str) or not isinstance(value, str):
                raise _invalid(name, item, "a list of {key, value} objects with string values")
            pairs[key] = value
        return pairs


def json_response(body: dict[str, Any]) -> Response:
    # non-finite metric values are already strings (see wire.number)
    return Response(orjson.dumps(body), media_type="application/json")


async def _arguments(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in args:
            previous = args[key]
            args[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            args[key] = value
    if request.method == "GET":
        return args
    raw = await request.body()
    if not raw.strip():
        return args
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the request body is not valid JSON ({exc}); send one JSON object") from None
    if not isinstance(body, dict):
        raise Invalid(f"the request body must be a JSON object, got {type(body).__name__}")
    return {**args, **body}


def route(
    router: APIRouter,
    method: str,
    path: str,
    *,
    conflict: str = "RESOURCE_ALREADY_EXISTS",
) -> Callable[[Callable[[Call], dict[str, Any]]], Callable[[Call], dict[str, Any]]]:
    """Register `handler(call) -> dict` at `path` for `method`; a Knot error becomes
    MLflow's shape (a Conflict becomes `conflict`)."""

    def register(handler: Callable[[Call], dict[str, Any]]) -> Callable[[Call], dict[str, Any]]:
        async def endpoint(request: Request) -> Response:
            try:
                call = Call(request, await _arguments(request))
                body = await run_in_threadpool(handler, call)
            except KnotError as exc:
                return mlflow_error_response(exc, conflict)
            return json_response(body)

        endpoint.__name__ = f"mlflow_{handler.__name__}"
        endpoint.__doc__ = handler.__doc__
        # MLflow documents these routes; Knot's OpenAPI document (and its fuzz tests,
        # which expect Knot's error shape) covers Knot's own API
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
        if "{" not in path:
            added = router.routes[-1]
            assert isinstance(added, APIRoute)
            EXACT[(method, path)] = (endpoint, added)
        return handler

    return register
