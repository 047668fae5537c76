"""Request bodies: JSON records or columns, CSV, or Arrow IPC, read into raw columns
(checked against the signature afterwards, by knot.serving.columns)."""

from __future__ import annotations

from typing import Any

import orjson

from knot.errors import KnotError
from knot.registry.entities import Signature
from knot.serving.columns import TENSOR, column_specs
from knot.serving.inputs.blocks import float_row

__all__ = ["ARROW_TYPES", "BadRequest", "parse_body"]

ARROW_TYPES = ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file")
_ACCEPTED = "application/json, text/csv or " + " / ".join(ARROW_TYPES)


class BadRequest(KnotError):
    """A body the service cannot read; `status_code` is 400, 413 or 415."""

    def __init__(self, message: str, status_code: int = 400, field: str = "body") -> None:
        super().__init__(message, field=field)
        self.status_code = status_code


def parse_body(content_type: str, body: bytes, signature: Signature | None) -> dict[str, Any]:
    """Raw columns (name -> values) from a body, or {TENSOR: rows} for a tensor model."""
    if not body:
        raise BadRequest(
            'the request body is empty; send {"inputs": [{"column": value, ...}]} as JSON, '
            "or a CSV or Arrow IPC table"
        )
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return _json(body, signature)
    if media == "text/csv":
        return _table(body, "csv")
    if media in ARROW_TYPES:
        return _table(body, "arrow")
    raise BadRequest(
        f"content type {content_type or '(none)'!r} is not supported; use {_ACCEPTED}",
        status_code=415,
        field="content-type",
    )


def _json(body: bytes, signature: Signature | None) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "inputs" not in doc:
        raise BadRequest(
            'the JSON body needs an "inputs" field: a list of records '
            '[{"column": value, ...}] or columns {"column": [values]}',
            field="inputs",
        )
    extra = sorted(set(doc) - {"inputs"})
    if extra:
        raise BadRequest(
            f'field {extra[0]!r} is not part of a prediction body; send only {{"inputs": ...}}',
            status_code=422,
            field=extra[0],
        )
    inputs = doc["inputs"]
    if signature is not None and signature.input_kind == "tensor":
        return {TENSOR: inputs}
    if isinstance(inputs, dict):
        if not all(isinstance(v, list) for v in inputs.values()):
            raise BadRequest(
                'columnar "inputs" map each column to a list of values', field="inputs"
            )
        return inputs
    if isinstance(inputs, list) and inputs and all(isinstance(r, dict) for r in inputs):
        return _records(inputs, signature)
    raise BadRequest(
        '"inputs" must be a non-empty list of records [{"column": value, ...}] or a map of '
        'columns {"column": [values]}',
        field="inputs",
    )


def _records(rows: list[dict[str, Any]], signature: Signature | None) -> dict[str, Any]:
    if len(rows) == 1 and signature is not None:
        specs, floats = column_specs(signature)
        if len(specs) == len(signature.inputs):  # every column named, once
            row = rows[0]
            try:  # one record with every column: what the loop below makes, in one pass
                values = [row[name] for name in specs]
            except KeyError:
                pass
            else:
                block = float_row(specs, values) if floats else None
                if block is not None:  # numbers for a model of floats: already checked
                    return block
                return {name: [value] for name, value in zip(specs, values, strict=True)}
    names = signature.columns if signature is not None else list(rows[0])
    columns: dict[str, Any] = {}
    for name in names:
        try:
            columns[name] = [row[name] for row in rows]
        except KeyError:
            lacking = [i for i, row in enumerate(rows) if name not in row]
            if len(lacking) == len(rows):
                continue  # missing everywhere: the signature check names it and its type
            raise BadRequest(
                f"record {lacking[0]} has no column {name!r}; every record needs every column",
                status_code=422,
                field=name,
            ) from None
    if signature is not None and len(columns) < len(names):
        # a column missing everywhere fails the check, which names the records' other
        # keys to show a typo; without one, keys the model does not take are left out
        columns.update({k: [r.get(k) for r in rows] for k in rows[0] if k not in columns})
    return columns


def _table(body: bytes, kind: str) -> dict[str, Any]:
    import pyarrow as pa

    try:
        if kind == "csv":
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(pa.BufferReader(body))
        else:
            import pyarrow.ipc as ipc

            try:
                table = ipc.open_stream(pa.BufferReader(body)).read_all()
            except pa.ArrowInvalid:
                table = ipc.open_file(pa.BufferReader(body)).read_all()
    except pa.ArrowException as exc:
        what = "CSV" if kind == "csv" else "Arrow IPC"
        raise BadRequest(f"the body is not a readable {what} table ({exc})") from None
    if table.num_rows == 0:
        raise BadRequest("the table in the body has no rows; send at least one row")
    names = table.column_names
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise BadRequest(f"the table has column {twice!r} twice; name each once", field=twice)
    columns: dict[str, Any] = {}
    for name in names:
        try:
            columns[name] = table.column(name).to_numpy(zero_copy_only=False)
        except pa.ArrowException as exc:  # a type numpy cannot hold
            raise BadRequest(f"column {name!r} cannot be read ({exc})", field=name) from None
    return columns
