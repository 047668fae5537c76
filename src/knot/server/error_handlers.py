"""How the server answers bad input and failures: always JSON {"error", "message", "field"},
the shape `knot.errors.from_dict` rebuilds on the client, and never a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from knot.errors import Invalid, KnotError
from knot.server.mlflow.errors import is_mlflow_path, mlflow_error_response

__all__ = ["CatchAll", "error_response", "install_error_handlers", "invalid_from_errors"]

log = logging.getLogger("knot.server")
_SHOWN = 20  # errors listed in one response; the message names the first


def error_response(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


def _field(loc: Sequence[int | str]) -> str:
    # ("body", "metrics", "value", 3) -> "metrics.value.3"; query/path names stay as they are
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    if "run_id" in parts:
        # a `str | list[str]` column names the union member that failed after the field
        at = parts.index("run_id") + 1
        if at < len(parts) and parts[at] in ("str", "list[str]"):
            del parts[at]
    return ".".join(parts) or "body"


def _describe(error: Any) -> str:
    message = str(error.get("msg", "invalid value"))
    if error.get("type") in ("missing", "json_invalid"):
        return message
    value = error.get("input")
    if isinstance(value, dict | list):
        return message
    shown = repr(value[:81] if isinstance(value, str) else value)
    return f"{message} (got {shown[:80]}{'...' if len(shown) > 80 else ''})"


def invalid_from_errors(errors: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    """Turn Pydantic/FastAPI validation errors into (status, the Knot error payload)."""
    if not errors:
        return 422, Invalid("the request is invalid").to_dict()
    first = errors[0]
    if first.get("type") == "json_invalid":
        where = first.get("ctx", {}).get("error") or first.get("msg")
        message = f"the request body is not valid JSON ({where}); send one JSON object"
        return 400, {"error": "invalid", "message": message, "field": "body"}
    # a batch of bad rows can carry one error per row: describe only the first few
    listed = [{"field": _field(e.get("loc", ())), "message": _describe(e)} for e in errors[:_SHOWN]]
    field = listed[0]["field"]
    # a union reports one error per member for the same field: say them together
    said = [e["message"] for e in listed if e["field"] == field]
    others = len(errors) - len(said)
    more = f" (and {others} more problems)" if others else ""
    message = f"field {field!r}: {', or '.join(said)}{more}; see /docs for the request schema"
    return 422, {
        "error": "invalid",
        "message": message,
        "field": field,
        "errors": listed,
    }


async def _on_knot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KnotError)
    if exc.status_code >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message)
    if is_mlflow_path(request.url.path):  # e.g. a viewer's 403: MLflow's client reads its shape
        return mlflow_error_response(exc)
    return error_response(exc.status_code, exc.to_dict())


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    status, payload = invalid_from_errors(list(exc.errors()))
    return error_response(status, payload)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = (
            f"no route {request.method} {request.url.path}; the API is listed at /docs "
            "and /openapi.json"
        )
        kind = "not_found"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        kind = "invalid"
        # the route that answered knows only its own method: list every route's
        exc.headers = {**(exc.headers or {}), "Allow": _allowed(request)}
    else:
        message, kind = str(exc.detail), "invalid" if exc.status_code < 500 else "error"
    # keep the exception's headers: a 405 must say which methods are allowed (RFC 9110)
    payload = {"error": kind, "message": message, "field": None}
    return error_response(exc.status_code, payload, dict(exc.headers or {}))


def _allowed(request: Request) -> str:
    """The methods the API documents at the request's path (FastAPI makes one route per
    method, and the one that answered knows only its own)."""
    paths = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:  # /runs/search, not /runs/{run_id}
        return ", ".join(sorted(m.upper() for m in paths[path]))
    methods: set[str] = set()
    for template, operations in paths.items():
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KnotError, _on_knot_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_middleware(CatchAll)


class CatchAll:
    """Last line: an unexpected exception is logged with its traceback and answered with a
    500 JSON error, so a client never sees Python internals."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = orjson.dumps(
                {
                    "error": "error",
                    "message": "internal error while handling the request; see the server "
                    "log for the traceback",
                    "field": None,
                }
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
