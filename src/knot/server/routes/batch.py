"""POST /api/v1/batch, the write hot path: one columnar JSON body, one store transaction.

    {"starts":  [{"run_id": ..., "experiment_id": ..., "user": ..., "start_time": ...}, ...],
     "metrics": {"run_id": "<id>" or [...], "key": [...], "value": [...],
                 "step": [...], "timestamp": [...]},
     "params":  {"run_id": ..., "key": [...], "value": [...]},
     "tags":    {"run_id": ..., "key": [...], "value": [...]},
     "ends":    {"run_id": ..., "status": [...], "end_time": [...]},
     "writer_id": "<32 hex>", "seq": 7}

Every section is optional; columns of a section have one entry per row, and `run_id`
may be a single string meaning "every row". Metric values may be the strings "NaN",
"Infinity" and "-Infinity". The body is parsed by Pydantic's JSON parser straight into
lists of primitives (no per-row objects), then zipped into the store's Batch tuples.
The whole request is validated before anything is written, and the store writes it in
one transaction, so a rejected batch changes nothing. `writer_id` and `seq` (optional,
together) number the SDK writer's batches: a batch whose number that writer already had
written is answered as written and not written again (knot.tracking.sql.replays).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from knot.errors import Invalid
from knot.server.deps import StoreHolder
from knot.server.routes.batch_plain import plain_metrics
from knot.server.routes.schemas import BatchBody, KeyValueColumns
from knot.tracking import validate
from knot.tracking.entities import Batch

__all__ = ["MAX_BATCH_BYTES", "decode_batch", "document", "router"]

router = APIRouter()
MAX_BATCH_BYTES = 256 * 1024 * 1024


@router.post(
    "/batch",
    tags=["runs"],
    summary="Log metrics, params, tags and run ends in one transaction",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
        }
    },
)
async def log_batch(request: Request) -> Response:
    """Write a columnar batch; answers {"written": rows} once it is committed."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BATCH_BYTES:
        raise Invalid(
            f"batch body is {int(length)} bytes; the limit is {MAX_BATCH_BYTES}. Send smaller "
            "batches (the SDK's writer splits them by max_batch)",
            field="body",
        )
    holder: StoreHolder = request.app.state.store_holder
    body = await request.body()
    # parsing a large batch takes milliseconds: do it off the event loop, with the write
    written = await run_in_threadpool(_write, holder, body)
    return Response(b'{"written":%d}' % written, media_type="application/json")


def _write(holder: StoreHolder, body: bytes) -> int:
    store = holder.get()
    try:
        batch = decode_batch(body)
    except ValidationError as exc:
        # the same answer as any other route's bad body (see error_handlers)
        raise RequestValidationError(exc.errors(include_url=False)) from None
    store.log_batch(batch)
    return len(batch)


def decode_batch(body: bytes) -> Batch:
    """Parse and check a batch body; raises ValidationError or Invalid naming the field."""
    plain = plain_metrics(body)
    if plain is not None:  # the usual body: its metric columns proven whole, in C
        rest, metrics = plain
        parsed = BatchBody.model_validate_json(rest)
        _check_keys(list(set(map(itemgetter(1), metrics))), "metrics", "metric")  # metrics first
        batch = _sections(parsed)
        batch.metrics = metrics
        return batch
    parsed = BatchBody.model_validate_json(body or b"null")
    batch = _sections(parsed)
    m = parsed.metrics
    if m is not None and m.key:
        _check_keys(m.key, "metrics", "metric")
        batch.metrics = list(zip(m.run_ids(), m.key, m.value, m.step, m.timestamp, strict=True))
    return batch


def _sections(parsed: BatchBody) -> Batch:
    """The batch of everything in `parsed` but its metrics."""
    batch = Batch(starts=list(parsed.starts or []), writer_id=parsed.writer_id, seq=parsed.seq)
    if parsed.params is not None:
        batch.params = _key_values(parsed.params, "params", "param")
    if parsed.tags is not None:
        batch.tags = _key_values(parsed.tags, "tags", "tag")
    e = parsed.ends
    if e is not None and e.status:
        statuses = [s.value for s in e.status]
        batch.ends = list(zip(e.run_ids(), statuses, e.end_time, strict=True))
    return batch


def _check_keys(keys: list[str], section: str, what: str) -> None:
    try:
        validate.check_keys(set(keys), what)
    except Invalid as exc:
        raise Invalid(exc.message, field=f"{section}.key") from None


def _key_values(columns: KeyValueColumns, section: str, what: str) -> list[tuple[str, str, str]]:
    if not columns.key:
        return []
    _check_keys(columns.key, section, what)
    limit = validate.MAX_PARAM_VALUE if what == "param" else validate.MAX_TAG_VALUE
    for i, (key, value) in enumerate(zip(columns.key, columns.value, strict=True)):
        if len(value) > limit:
            try:
                validate.param_value(key, value, what)
            except Invalid as exc:
                raise Invalid(exc.message, field=f"{section}.value.{i}") from None
    return list(zip(columns.run_ids(), columns.key, columns.value, strict=True))


def document(app: FastAPI) -> None:
    """Put the batch body's schema into the OpenAPI document (the route reads raw bytes)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        body = BatchBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["Batch"] = body
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
