"""Every MLflow route in one router, and the MLflow reads sent as POST."""

from __future__ import annotations

from fastapi import APIRouter

from knot.server.mlflow import (
    artifacts,
    experiments,
    logged_models,
    logging_routes,
    models,
    runs,
    versions,
)
from knot.server.mlflow.fallback import router as fallback

__all__ = ["READ_ONLY", "router"]

router = APIRouter()
for part in (experiments, runs, logging_routes, logged_models, models, versions, artifacts):
    router.include_router(part.router)
router.include_router(fallback)  # last: answers what no route above matched

# MLflow reads sent as POST, which a viewer token may call (see knot.server.auth)
READ_ONLY = [
    "POST /api/2.0/mlflow/experiments/search",
    "POST /api/2.0/mlflow/runs/search",
    "POST /api/2.0/mlflow/logged-models/search",
    "POST /api/2.0/mlflow/registered-models/get-latest-versions",
]
