"""An MLflow path no route serves answers ENDPOINT_NOT_FOUND in MLflow's shape, which
MLflow's client understands (Knot's own 404 body has no error_code)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from knot.server.mlflow.errors import MlflowError
from knot.server.mlflow.routing import Call, route

__all__ = ["router"]

router = APIRouter()


def _missing(call: Call) -> dict[str, Any]:
    request = call.request
    raise MlflowError(
        "ENDPOINT_NOT_FOUND",
        f"{request.method} {request.url.path} is not an MLflow endpoint Knot serves; Knot "
        "serves experiments, runs, metrics, registered models, model versions, aliases, "
        "logged models and the artifact proxy",
    )


for _prefix in ("/api/2.0/mlflow/{rest:path}", "/api/2.0/mlflow-artifacts/{rest:path}"):
    for _method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
        route(router, _method, _prefix)(_missing)
