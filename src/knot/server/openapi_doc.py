"""What /openapi.json says beyond what FastAPI derives from the routes: the error
answers every operation can give, in the one JSON shape of knot.server.error_handlers,
and the constraints the stores check on path and query parameters themselves (model
names, aliases, version numbers, run ids) rather than through a type.

FastAPI documents a 422 with its own validation schema, which the server never sends;
it is replaced by Knot's error. Which errors an operation lists: 422 (a value does not
fit), 404 (something it names does not exist), 503 (the store cannot be reached) for
every one; 400 (not JSON) for those with a body; 409 (the change contradicts what is
stored) for those that change something; 401 and 403 when the server runs with --auth.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from knot.governance.roles import ROLES
from knot.refs import ALIAS_PATTERN, MAX_VERSION, MODEL_NAME_PATTERN, RUN_ID_PATTERN

__all__ = ["document_errors"]

_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "invalid, not_found, conflict, ..."},
        "message": {"type": "string", "description": "What was wrong and how to fix it"},
        "field": {"type": ["string", "null"], "description": "The field it was about"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["error", "message", "field"],
}
_REASONS = {
    "400": "The body is not valid JSON",
    "401": "No API token, or one the server does not know",
    "403": "The token's role may not do this",
    "404": "Something the request names does not exist",
    "409": "The change contradicts what is stored",
    "422": "A value does not fit: `field` names it, `message` says what to send instead",
    "503": "The metadata store cannot be reached; retry",
}
_WRITES = {"post", "put", "patch", "delete"}
_READS_WITH_BODY = {"/api/v1/runs/search"}  # a query sent as a body: changes nothing
_MODEL_NAME = {"type": "string", "pattern": MODEL_NAME_PATTERN}
_ALIAS = {"type": "string", "pattern": ALIAS_PATTERN, "not": {"const": "latest"}}
_NAME = {"type": "string", "pattern": "\\S", "maxLength": 256}  # not blank
# path parameters the stores check by name (knot.refs, knot.tracking.validate)
_PARAMETERS: dict[str, dict[str, Any]] = {
    "name": _MODEL_NAME,
    "alias": _ALIAS,
    "version": {"type": "integer", "minimum": 1, "exclusiveMaximum": MAX_VERSION},
    "run_id": {"type": "string", "pattern": RUN_ID_PATTERN},
}
_RUN_ID = {"type": "string", "pattern": RUN_ID_PATTERN}
# body fields the stores check themselves, with messages better than a schema's
_PROPERTIES: dict[tuple[str, str], dict[str, Any]] = {
    ("ExperimentCreate", "name"): _NAME,
    ("ModelCreate", "name"): _MODEL_NAME,
    ("PromotionBody", "alias"): _ALIAS,
    # the roles that may approve (knot.governance.roles)
    ("PromotionPolicy", "approver_role"): {
        "type": "string",
        "enum": list(ROLES[ROLES.index("approver") :]),
    },
    ("TrafficSet", "challenger"): _ALIAS,
    ("RunCreate", "name"): _NAME,
    ("RunCreate", "run_id"): _RUN_ID,
    ("NewRun", "run_id"): _RUN_ID,
    ("NewRun", "name"): _NAME,
    ("VersionSource", "run_id"): _RUN_ID,
}
_ITEMS: dict[tuple[str, str], dict[str, Any]] = {("PromotionPolicy", "aliases"): _ALIAS}


def _field(components: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    """The schema of a string field (of its string branch when it may be null too)."""
    # a model both read and answered is documented twice, as MODEL-Input and MODEL-Output
    schema = components.get(model) or components.get(f"{model}-Input") or {}
    field: dict[str, Any] = schema.get("properties", {}).get(name, {})
    for branch in field.get("anyOf", []):
        if branch.get("type") == "string":
            field = branch
            break
    return field


def _constrain_bodies(components: dict[str, Any]) -> None:
    for (model, name), rule in _PROPERTIES.items():
        _field(components, model, name).update(rule)
    for (model, name), rule in _ITEMS.items():
        items = _field(components, model, name).get("items")
        if isinstance(items, dict):
            items.update(rule)


def _whole_bounds(node: Any) -> None:
    """Bounds as integers again: FastAPI's OpenAPI model keeps them as floats, and a
    client reading 9.223372036854776e18 cannot tell 2**63 - 1 from 2**63."""
    if isinstance(node, list):
        for item in node:
            _whole_bounds(item)
    elif isinstance(node, dict):
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            value = node.get(key)
            if isinstance(value, float) and value.is_integer():
                node[key] = int(value)
        for value in node.values():
            _whole_bounds(value)


def _constrain(path: str, parameter: dict[str, Any]) -> None:
    name = parameter.get("name")
    if parameter.get("in") != "path" or name not in _PARAMETERS:
        return
    if name == "name" and not path.startswith("/api/v1/models/"):
        return  # only model names follow the model-name rule
    schema = parameter.setdefault("schema", {})
    schema.update(_PARAMETERS[name])


def _errors(path: str, method: str, operation: dict[str, Any], auth: bool) -> None:
    codes = ["404", "422", "503"]
    if "requestBody" in operation:
        codes.append("400")
    if method in _WRITES and path not in _READS_WITH_BODY:
        codes.append("409")
    if auth and path != "/health":
        codes += ["401", "403"]
    responses = operation.setdefault("responses", {})
    for code in sorted(codes):
        responses[code] = {
            "description": _REASONS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for parameter in operation.get("parameters", []):
        _constrain(path, parameter)


def document_errors(app: FastAPI) -> None:
    """Make `app`'s OpenAPI document list every operation's error answers."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if method in _WRITES | {"get", "head"}:
                    _errors(path, method, operation, bool(app.state.auth))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = _ERROR
        _constrain_bodies(components)
        _whole_bounds(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
