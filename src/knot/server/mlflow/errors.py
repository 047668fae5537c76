"""MLflow's error shape: JSON {"error_code", "message"} with the HTTP status MLflow's own
server gives each code. MLflow's client reads `error_code` to raise the right exception
(a missing experiment is RESOURCE_DOES_NOT_EXIST, which `set_experiment` relies on to
create it), so every answer under /api/2.0/mlflow* has this shape, never Knot's."""

from __future__ import annotations

import orjson
from fastapi.responses import Response

from knot.errors import (
    Conflict,
    Forbidden,
    Invalid,
    KnotError,
    NotFound,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "MLFLOW_PREFIXES",
    "MlflowError",
    "code_of",
    "error_body",
    "is_mlflow_path",
    "mlflow_error_response",
    "not_supported",
]

MLFLOW_PREFIXES = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow/")

STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "BAD_REQUEST": 400,
    "INVALID_STATE": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


class MlflowError(KnotError):
    """An error with an MLflow code of its own (NOT_IMPLEMENTED, ENDPOINT_NOT_FOUND, ...)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code
        self.status_code = STATUS[code]


def not_supported(what: str, fix: str) -> MlflowError:
    """A call MLflow offers and Knot deliberately does not: say so, and what to do."""
    return MlflowError("NOT_IMPLEMENTED", f"{what} is not supported by Knot's MLflow API; {fix}")


def is_mlflow_path(path: str) -> bool:
    return path.startswith(MLFLOW_PREFIXES)


def code_of(exc: KnotError, conflict: str = "RESOURCE_ALREADY_EXISTS") -> str:
    """The MLflow code of a Knot error. `conflict` is what a Conflict means on this route
    (a param logged again with another value is INVALID_PARAMETER_VALUE in MLflow)."""
    if isinstance(exc, MlflowError):
        return exc.code
    if isinstance(exc, NotFound):
        return "RESOURCE_DOES_NOT_EXIST"
    if isinstance(exc, Invalid):
        return "INVALID_PARAMETER_VALUE"
    if isinstance(exc, Conflict):
        return conflict
    if isinstance(exc, Unauthorized):
        return "UNAUTHENTICATED"
    if isinstance(exc, Forbidden):
        return "PERMISSION_DENIED"
    if isinstance(exc, Unavailable):
        return "TEMPORARILY_UNAVAILABLE"
    return "INTERNAL_ERROR"


def error_body(exc: KnotError, conflict: str = "RESOURCE_ALREADY_EXISTS") -> tuple[int, bytes]:
    code = code_of(exc, conflict)
    return STATUS[code], orjson.dumps({"error_code": code, "message": exc.message})


def mlflow_error_response(
    exc: KnotError, conflict: str = "RESOURCE_ALREADY_EXISTS", headers: dict[str, str] | None = None
) -> Response:
    status, body = error_body(exc, conflict)
    return Response(body, status_code=status, media_type="application/json", headers=headers)
