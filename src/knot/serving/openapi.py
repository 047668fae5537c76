"""The service's OpenAPI document (GET /openapi.json), written from the served model's
signature: /predict names the model's columns with their JSON types (a float column takes
numbers, never booleans; nulls only where the signature allows missing values), /feedback
the kind of label its predictions call for, and every route the 4xx answers it gives.

What JSON Schema cannot say is in the descriptions and checked by the service all the
same: columns of a columnar body have one length, a label's request id must be one the
model answered (and its row one of that request's rows), and a model may refuse values
its signature allows (a 422 naming the model's error).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from knot.registry.entities import ColumnSpec, Signature
from knot.serving.logs.label_checks import LABEL_SCHEMAS, label_kind

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON = "application/json"
_REASONS = {
    400: "The body is empty, not valid JSON, or not a readable table",
    404: "A label names a request id the model did not answer, or a row it did not have",
    413: "The body is larger than the service accepts (--max-body-mb)",
    415: "The content type is not one the route reads",
    422: "A value does not fit: `field` names it and `error` says what to send instead",
    503: "The model is not loaded (yet); /ready says why",
}


def _value(spec: ColumnSpec) -> dict[str, Any]:
    """The JSON Schema of one value of a column or tensor."""
    name = spec.type
    out: dict[str, Any]
    if name == "category" or name.startswith("str"):  # string, or numpy's str96 ...
        out = {"type": "string"}
    elif name == "bool":
        out = {"type": "boolean"}
    else:
        try:
            dtype = np.dtype(name)
        except TypeError:
            return {}
        if dtype.kind == "f":
            top = float(np.finfo(dtype).max)
            out = {"type": "number", "minimum": -top, "maximum": top}
        elif dtype.kind == "U":
            out = {"type": "string"}
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            # an exclusive bound of a power of two: exact in a JSON reader's float as well
            top = int(info.max) + 1
            out = {"type": "integer", "minimum": int(info.min), "exclusiveMaximum": top}
        else:
            return {}
    if spec.nullable and out["type"] in ("number", "string"):
        out["type"] = [out["type"], "null"]
    return out


def _inputs(signature: Signature | None) -> dict[str, Any]:
    if signature is None:
        return {
            "description": "Records or columns; the model was logged without an input example",
            "anyOf": [
                {"type": "array", "minItems": 1, "items": {"type": "object"}},
                {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}},
            ],
        }
    if signature.input_kind == "tensor":
        spec = signature.inputs[0]
        row: dict[str, Any] = {"type": "array", "items": _value(spec)}
        shape = spec.shape or []
        if len(shape) == 2 and shape[1] > 0:
            row.update(minItems=shape[1], maxItems=shape[1])
        return {
            "description": f"Rows of the tensor the model takes (shape {shape})",
            "anyOf": [{"type": "array", "minItems": 1, "items": row}, row],
        }
    specs = [s for s in signature.inputs if s.name is not None]
    names = [s.name for s in specs]
    # other columns (ids, labels) are allowed and left out before the model sees the rows
    record = {
        "type": "object",
        "properties": {s.name: _value(s) for s in specs},
        "required": names,
    }
    columns = {
        "type": "object",
        "description": "One list per column, all of the same length",
        "properties": {s.name: {"type": "array", "minItems": 1, "items": _value(s)} for s in specs},
        "required": names,
        "additionalProperties": {"type": "array"},
    }
    return {
        "description": "Records [{column: value}] or columns {column: [values]}; columns "
        "the model does not take are ignored",
        "anyOf": [{"type": "array", "minItems": 1, "items": record}, columns],
    }


def _label(signature: Signature | None) -> dict[str, Any]:
    """A label fits the model's predictions: the kind of its (first) output."""
    if signature is None or not signature.outputs:
        return LABEL_SCHEMAS["any"]
    name = signature.outputs[0].type
    if name == "category" or name.startswith("str"):
        return LABEL_SCHEMAS["string"]
    try:
        return LABEL_SCHEMAS[label_kind(np.empty(0, dtype=name))]
    except TypeError:
        return LABEL_SCHEMAS["any"]


def _responses(ok: dict[str, Any], *codes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"200": ok}
    for code in codes:
        out[str(code)] = {"description": _REASONS[code], "content": {_JSON: {"schema": _ERROR}}}
    return out


def _json_ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


_HEADERS = [
    {
        "name": "x-request-id",
        "in": "header",
        "required": False,
        "description": "Your id for the request (default: a new one); labels refer to it",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
    },
    {
        "name": "x-knot-route-key",
        "in": "header",
        "required": False,
        "description": "Requests with the same key are answered by the same model",
        "schema": {"type": "string"},
    },
]


def openapi_document(
    signature: Signature | None, served: str | None, version: str, max_body_bytes: int
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a service serving `served` (its name/version)."""
    prediction = {
        "type": "object",
        "properties": {
            "predictions": {"type": "array"},
            "model_name": {"type": "string"},
            "model_version": {"type": "integer"},
            "model_digest": {"type": "string"},
            "request_id": {"type": "string"},
        },
        "required": ["predictions", "model_name", "model_version", "model_digest", "request_id"],
    }
    body = {
        "type": "object",
        "properties": {"inputs": _inputs(signature)},
        "required": ["inputs"],
        "additionalProperties": False,
    }
    label = {
        "type": "object",
        "properties": {
            "request_id": {
                "type": "string",
                "minLength": 1,
                "description": "The request_id a /predict answer gave",
            },
            "row": {"type": "integer", "minimum": 0, "exclusiveMaximum": 2**31, "default": 0},
            "label": _label(signature),
        },
        "required": ["request_id", "label"],
        "additionalProperties": False,
    }
    feedback = {
        "type": "object",
        "properties": {"labels": {"type": "array", "minItems": 1, "items": label}},
        "required": ["labels"],
        "additionalProperties": False,
    }
    table = {"type": "string", "format": "binary", "minLength": 1}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Knot prediction service ({served or 'loading'})",
            "version": version,
            "description": __doc__,
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Predict for rows of the model's inputs",
                    "description": f"Bodies up to {max_body_bytes} bytes.",
                    "parameters": _HEADERS,
                    "requestBody": {
                        "required": True,
                        "content": {
                            _JSON: {"schema": body},
                            "text/csv": {"schema": {"type": "string", "minLength": 1}},
                            "application/vnd.apache.arrow.stream": {"schema": table},
                            "application/vnd.apache.arrow.file": {"schema": table},
                        },
                    },
                    "responses": _responses(
                        _json_ok("One prediction per row", prediction), 400, 413, 415, 422, 503
                    ),
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Store the true labels of earlier predictions (fsynced first)",
                    "parameters": _HEADERS[:1],
                    "requestBody": {"required": True, "content": {_JSON: {"schema": feedback}}},
                    "responses": _responses(
                        _json_ok(
                            "Every label was stored",
                            {
                                "type": "object",
                                "properties": {
                                    "accepted": {"type": "integer", "minimum": 1},
                                    "request_id": {"type": "string"},
                                },
                                "required": ["accepted", "request_id"],
                            },
                        ),
                        400,
                        404,
                        413,
                        415,
                        422,
                        503,
                    ),
                }
            },
            "/health": {
                "get": {
                    "summary": "200 while the process runs",
                    "responses": {
                        "200": _json_ok(
                            "Up",
                            {
                                "type": "object",
                                "properties": {"status": {"const": "ok"}},
                                "required": ["status"],
                            },
                        )
                    },
                }
            },
            "/ready": {
                "get": {
                    "summary": "200 once the model is loaded and warm",
                    "responses": {
                        "200": _json_ok(
                            "Ready",
                            {
                                "type": "object",
                                "properties": {
                                    "ready": {"const": True},
                                    "models": {"type": "object"},
                                },
                                "required": ["ready", "models"],
                            },
                        ),
                        "503": _json_ok(
                            "Loading, or the model failed to load",
                            {
                                "type": "object",
                                "properties": {
                                    "ready": {"const": False},
                                    "reason": {"type": "string"},
                                },
                                "required": ["ready", "reason"],
                            },
                        ),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics of every worker",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "field": {"type": ["string", "null"]},
                        "request_id": {"type": "string"},
                    },
                    "required": ["error", "field", "request_id"],
                }
            }
        },
    }
