"""MLflow's tracking, registry and artifact REST API, translated onto Knot's stores, so
MLflow's own client works unchanged against `knot server`: an MLflow experiment is a
Knot experiment, a run a Knot run, a registered model a Knot model, an artifact a Knot
run artifact. `router` holds every route; app.py includes it."""

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
