"""The prediction service as a small Starlette app: POST /predict, POST /feedback (labels
that arrive later), GET /health, /ready and /metrics. The hot path reads the body,
checks it against the signature, queues it for the micro-batcher and answers with
orjson; the prediction log is written later, by a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from knot.errors import KnotError
from knot.serving.bodies import BadRequest, parse_body
from knot.serving.columns import Columns, check_columns
from knot.serving.config import ServeConfig
from knot.serving.labels import append_labels, labels_from_body
from knot.serving.metrics import CONTENT_TYPE
from knot.serving.service import Service
from knot.serving.slot import ModelFailed, Slot

__all__ = ["ROUTE_KEY_HEADER", "create_app"]

log = logging.getLogger("knot.serving")
ROUTE_KEY_HEADER = "x-knot-route-key"  # requests with the same key hit the same model
_JSON = "application/json"


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type=_JSON)


def _error(status: int, message: str, request_id: str, field: str | None = None) -> Response:
    return _json({"error": message, "field": field, "request_id": request_id}, status)


def create_app(config: ServeConfig) -> Starlette:
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    async def predict(request: Request) -> Response:
        service.metrics.in_flight.inc()
        try:
            return await _predict(request)
        finally:
            service.metrics.in_flight.dec()

    async def _predict(request: Request) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        if not service.ready and not await service.until_ready():
            why = service.failure or "the model is still loading; poll /ready"
            return _error(503, why, request_id)
        slot = service.route(request.headers.get(ROUTE_KEY_HEADER))
        served = slot.served
        if served is None:  # only the champion is left unset, by a failed load
            return _error(503, service.failure or "no model is loaded", request_id)
        labels = (served.name, str(served.version), slot.role)
        try:
            body = await _read_body(request, config.max_body_bytes)
            raw = parse_body(request.headers.get("content-type", ""), body, served.signature)
            columns = check_columns(served.signature, raw)
        except KnotError as exc:
            service.metrics.errors.labels(*labels, str(exc.status_code)).inc()
            return _error(exc.status_code, exc.message, request_id, exc.field)
        try:
            predictions = await slot.predict(served, columns)
        except ModelFailed as exc:
            log.error("request %s: %s raised %s", request_id, served.label, exc)
            service.metrics.errors.labels(*labels, "500").inc()
            return _error(500, f"the model raised {exc}", request_id)
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
        service.metrics.requests.labels(*labels).inc()
        service.metrics.latency.labels(*labels).observe(time.perf_counter() - started)
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

    async def feedback(request: Request) -> Response:
        """Store labels for earlier predictions; answers once they are on disk (fsync)."""
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        name = service.model_name
        if name is None:
            return _error(503, service.failure or "the model is still loading", request_id)
        try:
            body = await _read_body(request, config.max_body_bytes)
            labels = labels_from_body(request.headers.get("content-type", ""), body)
            accepted = await asyncio.to_thread(append_labels, name, labels, service.log_root)
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

    app = Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
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
    declared = request.headers.get("content-length")
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
