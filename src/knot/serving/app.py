"""The prediction service as a small Starlette app: POST /predict, POST /feedback (labels
that arrive later), GET /health, /ready, /metrics and /openapi.json. The hot path reads
the body, checks it against the signature, queues it for the micro-batcher and answers
with orjson; the prediction log is written later, by a background thread.

Every answer is JSON, bad input a 4xx naming the field: an exception that escaped a
handler would make the server drop the keep-alive connection with a plain-text 500."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from knot.errors import KnotError
from knot.serving.bodies import BadRequest, parse_body
from knot.serving.columns import Columns, check_columns, row_count
from knot.serving.config import ServeConfig
from knot.serving.logs.label_checks import SIBLING_WAIT_S, check_labels, find_answered
from knot.serving.logs.labels import labels_from_body, parse_labels, write_labels
from knot.serving.logs.mirror import label_scan
from knot.serving.metrics import CONTENT_TYPE
from knot.serving.openapi import openapi_document
from knot.serving.service import Service
from knot.serving.slot import ModelFailed, Slot
from knot.serving.sources import Plan

__all__ = ["ROUTE_KEY_HEADER", "create_app"]

log = logging.getLogger("knot.serving")
ROUTE_KEY_HEADER = "x-knot-route-key"  # requests with the same key hit the same model
_JSON = "application/json"
_JSON_TYPE = (b"content-type", _JSON.encode())
# the version (4) and variant (10) bits of a random UUID, as RFC 4122 places them
_UUID_FIXED = (0xF000 << 64) | (0xC000 << 48)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)
_ROUTE_KEY = ROUTE_KEY_HEADER.encode()


def _plain(value: Any) -> Any:
    """What orjson's numpy support leaves out: object arrays (a classifier whose classes
    are strings predicts one), unicode arrays and numpy scalars."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


class _JSONResponse(Response):
    """A JSON body with the two headers Starlette would give it (content-length, then
    content-type), made without its general header logic: one is made per prediction."""

    media_type = _JSON

    def __init__(self, body: bytes, status_code: int) -> None:
        self.body = body
        self.status_code = status_code
        self.background = None
        self.raw_headers = [(b"content-length", b"%d" % len(body)), _JSON_TYPE]


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY, default=_plain)
    return _JSONResponse(body, status)


def _new_id() -> str:
    """A random UUID4 as 32 hex digits, as uuid.uuid4().hex makes it, in a third of the
    time (no UUID object): one is made per prediction."""
    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~_UUID_FIXED) | _UUID4_BITS
    return f"{n:032x}"


def _error(status: int, message: str, request_id: str, field: str | None = None) -> Response:
    return _json({"error": message, "field": field, "request_id": request_id}, status)


def _header(request: Request, name: bytes) -> str | None:
    """The first value of header `name` (lower case), as Starlette's `headers.get` gives
    it, read from the raw list: building the Headers object for the three or four a
    prediction needs cost more than reading them."""
    for key, value in request.scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _BadHeader(BadRequest):
    pass


def _request_id(request: Request) -> str:
    """The caller's x-request-id, or a new one. It is stored with the predictions and
    labels refer to it: 1 to 128 visible ASCII characters."""
    given = _header(request, b"x-request-id")
    if given is None:
        return _new_id()
    if not 0 < len(given) <= 128 or not all("!" <= c <= "~" for c in given):
        raise _BadHeader(
            f"x-request-id {given[:40]!r} is not 1 to 128 visible ASCII characters; send "
            "another id, or none to get one",
            field="x-request-id",
        )
    return given


def _guarded(handler: Any) -> Any:
    """The handler, with a bad x-request-id answered as 400 and anything it did not expect
    as a JSON 500 (logged with its traceback) instead of a dropped connection."""

    async def run(request: Request) -> Response:
        try:
            request_id = _request_id(request)
        except _BadHeader as exc:
            return _error(exc.status_code, exc.message, _new_id(), exc.field)
        try:
            response: Response = await handler(request, request_id)
            return response
        except ClientDisconnect:  # nobody reads this answer
            return _error(400, "the client went away before sending the whole body", request_id)
        except Exception:
            log.exception("request %s: unexpected error on %s", request_id, request.url.path)
            return _error(500, "internal error; the service log has the details", request_id)

    return run


class _ServiceApp(Starlette):
    """Starlette, with POST /predict handed straight to its handler: the handler answers
    every error itself (_guarded), so the error middlewares and the router would only
    add calls to each prediction. Every other request takes the usual way."""

    predict: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            self.predict is not None
            and scope["type"] == "http"
            and scope["path"] == "/predict"
            and scope["method"] == "POST"
        ):
            scope["app"] = self
            response = await self.predict(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(config: ServeConfig, plan: Plan | None = None) -> Starlette:
    """The service's app; `plan`: its references parsed and resolved by `knot serve`."""
    service = Service(config, plan)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    async def predict(request: Request, request_id: str) -> Response:
        service.metrics.in_flight.inc()
        try:
            return await _predict(request, request_id)
        finally:
            service.metrics.in_flight.dec()

    async def _predict(request: Request, request_id: str) -> Response:
        started = time.perf_counter()
        if not service.ready and not await service.until_ready():
            why = service.failure or "the model is still loading; poll /ready"
            return _error(503, why, request_id)
        slot = service.route(_header(request, _ROUTE_KEY))
        served = slot.served
        if served is None:  # only the champion is left unset, by a failed load
            return _error(503, service.failure or "no model is loaded", request_id)
        labels = (served.name, str(served.version), slot.role)
        try:
            body = await _read_body(request, config.max_body_bytes)
            if served.features is None:
                raw = parse_body((_header(request, b"content-type") or ""), body, served.signature)
            else:  # entity ids in, features from the online store (a sub-millisecond read)
                raw = parse_body((_header(request, b"content-type") or ""), body, None)
                raw = served.features.fill(raw)
            columns = check_columns(served.signature, raw)
        except KnotError as exc:
            service.metrics.errors.labels(*labels, str(exc.status_code)).inc()
            return _error(exc.status_code, exc.message, request_id, exc.field)
        try:
            predictions = await slot.predict(served, columns)
        except ModelFailed as exc:
            if exc.by_input:
                service.metrics.errors.labels(*labels, "422").inc()
                return _error(
                    422,
                    f"the model {served.label} cannot predict on these inputs ({exc}); the "
                    "values fit its signature, so check them against what it was trained on",
                    request_id,
                    "inputs",
                )
            log.error("request %s: %s raised %s", request_id, served.label, exc)
            service.metrics.errors.labels(*labels, "500").inc()
            return _error(500, f"the model {served.label} failed: {exc}", request_id)
        service.recent.add(request_id, row_count(columns), predictions)
        response = _json(
            {
                "predictions": predictions,
                "model_name": served.name,
                "model_version": served.version,
                "model_digest": served.digest,
                "request_id": request_id,
            }
        )
        if service.log is not None:
            service.log.add(request_id, served, slot.role, columns, predictions)
        if service.shadowing and slot is service.champion:
            _shadow(request_id, raw)
        metrics = service.metrics
        metrics.child(metrics.requests, *labels).inc()
        metrics.child(metrics.latency, *labels).observe(time.perf_counter() - started)
        return response

    def _shadow(request_id: str, raw: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(
            _run_shadow(service.challenger, request_id, raw)
        )
        service.background.add(task)
        task.add_done_callback(service.background.discard)

    async def _run_shadow(slot: Slot, request_id: str, raw: dict[str, Any]) -> None:
        served = slot.served
        if served is None:
            return
        labels = (served.name, str(served.version), "shadow")
        try:
            columns: Columns = check_columns(served.signature, raw)
            predictions: np.ndarray = await slot.predict(served, columns)
        except (KnotError, ModelFailed) as exc:
            service.metrics.errors.labels(*labels, "shadow").inc()
            log.warning("shadow %s on request %s: %s", served.label, request_id, exc)
            return
        service.metrics.requests.labels(*labels).inc()
        if service.log is not None:
            service.log.add(request_id, served, "shadow", columns, predictions)

    async def feedback(request: Request, request_id: str) -> Response:
        """Store labels for earlier predictions once each is checked against the request
        it is for; answers once they are on disk (fsync)."""
        name = service.model_name
        if name is None:
            return _error(503, service.failure or "the model is still loading", request_id)
        try:
            body = await _read_body(request, config.max_body_bytes)
            labels = parse_labels(labels_from_body((_header(request, b"content-type") or ""), body))
            ids = [label.request_id for label in labels]
            scan = label_scan(name, service.log_store, service.log_root)
            answered = await asyncio.to_thread(find_answered, ids, service.recent, scan)
            # another worker (or replica) may have answered it and not written its log yet
            siblings = config.workers > 1 or service.log_store is not None
            waited = 0.0
            while siblings and set(ids) - set(answered) and waited < SIBLING_WAIT_S:
                await asyncio.sleep(0.25)
                waited += 0.25
                missing = set(ids) - set(answered)
                answered.update(await asyncio.to_thread(scan.find, missing))
            check_labels(name, labels, answered)
            if service.log is not None and any(service.recent.get(i) for i in ids):
                # answered here, maybe not written yet: the prediction first, then its label
                await asyncio.to_thread(service.log.flush)
            accepted = await asyncio.to_thread(
                write_labels, name, labels, service.log_root, service.log_store
            )
        except KnotError as exc:
            return _error(exc.status_code, exc.message, request_id, exc.field)
        return _json({"accepted": accepted, "request_id": request_id})

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    async def ready(request: Request) -> Response:
        if not service.ready:
            why = service.failure or "loading"
            return _json({"ready": False, "reason": why}, 503)
        return _json({"ready": True, "models": _models(service)})

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    async def openapi(request: Request) -> Response:
        from knot._version import __version__

        served = service.champion.served
        document = openapi_document(
            served.signature if served is not None else None,
            served.label if served is not None else None,
            __version__,
            config.max_body_bytes,
        )
        return _json(document)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json"
        else:
            message = f"no route {request.method} {request.url.path}; see /openapi.json"
        response = _error(exc.status_code, message, _new_id())
        response.headers.update(exc.headers or {})
        return response

    answer = _guarded(predict)
    app = _ServiceApp(
        routes=[
            Route("/predict", answer, methods=["POST"]),
            Route("/feedback", _guarded(feedback), methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.predict = answer
    app.state.service = service
    return app


def _models(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for slot in (service.champion, service.challenger):
        if slot.served is not None:
            s = slot.served
            out[slot.role] = {"name": s.name, "version": s.version, "digest": s.digest}
    return out


async def _read_body(request: Request, limit: int) -> bytes:
    declared = _header(request, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(_too_big(int(declared), limit), status_code=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(_too_big(size, limit), status_code=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(size: int, limit: int) -> str:
    return (
        f"the body has {size} bytes, over the limit of {limit}; split the rows over several "
        "requests, score files with `knot predict`, or raise --max-body-mb"
    )
