"""/api/v1 routes for experiments, runs, metric history, search and artifact records.

Handlers are plain `def`s: the store is synchronous, so FastAPI runs them in its thread
pool and the event loop stays free."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from knot.errors import NotFound
from knot.paths import check_relative_path
from knot.server.deps import get_store
from knot.server.routes.schemas import ExperimentCreate, RunCreate, RunSearch, RunStatusUpdate
from knot.tracking.entities import (
    ArtifactRecord,
    Experiment,
    MetricPoint,
    MetricSeries,
    Run,
    RunPage,
)
from knot.tracking.protocol import TrackingStore
from knot.tracking.validate import check_run_id

__all__ = ["router"]

router = APIRouter()
Store = Annotated[TrackingStore, Depends(get_store)]


# experiments -----------------------------------------------------------------
@router.post("/experiments", status_code=status.HTTP_201_CREATED, tags=["experiments"])
def create_experiment(body: ExperimentCreate, store: Store) -> Experiment:
    """Create an experiment; 409 if the name is taken."""
    return store.create_experiment(body.name, body.description)


@router.get("/experiments", tags=["experiments"])
def list_experiments(store: Store) -> list[Experiment]:
    return store.list_experiments()


@router.get("/experiments/by-name", tags=["experiments"])
def get_experiment_by_name(
    store: Store, name: Annotated[str, Query(description="exact experiment name")]
) -> Experiment:
    """The experiment with this name; 404 (field "name") if there is none."""
    experiment = store.get_experiment_by_name(name)
    if experiment is None:
        raise NotFound(
            f"experiment {name!r} not found; `knot experiments list` shows them", field="name"
        )
    return experiment


@router.get("/experiments/{experiment_id}", tags=["experiments"])
def get_experiment(experiment_id: str, store: Store) -> Experiment:
    return store.get_experiment(experiment_id)


# runs --------------------------------------------------------------------------
@router.post("/runs", status_code=status.HTTP_201_CREATED, tags=["runs"])
def create_run(body: RunCreate, store: Store) -> Run:
    """Start a run in an experiment; 404 for an unknown experiment or parent run."""
    if body.run_id is not None:
        check_run_id(body.run_id)  # "" too: it would otherwise mean "make one up"
    return store.create_run(
        body.experiment_id,
        user=body.user,
        name=body.name,
        run_id=body.run_id,
        parent_run_id=body.parent_run_id,
        tags=body.tags,
        source=body.source,
        start_time=body.start_time,
    )


@router.post("/runs/search", tags=["runs"])
def search_runs(body: RunSearch, store: Store) -> RunPage:
    """Runs matching a filter such as `metrics.auc > 0.8 and params.model = 'lgbm'`."""
    return store.search_runs(
        experiment_ids=body.experiment_ids,
        filter=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
    )


@router.get("/runs/search", include_in_schema=False)
def search_runs_by_get() -> None:
    """GET /runs/search would be read as the run "search": say that it takes a POST."""
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, headers={"Allow": "POST"})


@router.get("/runs/ids", tags=["runs"])
def run_ids_starting(
    store: Store,
    prefix: Annotated[str, Query(max_length=32)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 11,
) -> list[str]:
    """Run ids that start with `prefix` (hex digits), sorted, at most `limit`."""
    return store.run_ids_starting(prefix, limit)


@router.get("/runs/metric-histories", tags=["runs"])
def metric_histories(
    store: Store,
    run_id: Annotated[list[str], Query(description="a run id; repeat for several runs")],
    key: Annotated[str, Query(description="metric key")],
    max_points: Annotated[int, Query(description="points per run at most")] = 2000,
) -> dict[str, MetricSeries]:
    """One metric's history of several runs as step and value columns, thinned to at
    most `max_points` per run (lowest and highest value per bucket of steps; first and
    last point kept). Declared before /runs/{run_id}, which would take its path."""
    return store.metric_histories(run_id, key, max_points)


@router.get("/runs/{run_id}", tags=["runs"])
def get_run(run_id: str, store: Store) -> Run:
    """A run with its params, tags and metric summaries (latest, min, max, count)."""
    return store.get_run(run_id)


@router.post("/runs/{run_id}/status", tags=["runs"])
def set_run_status(run_id: str, body: RunStatusUpdate, store: Store) -> Run:
    return store.set_run_status(run_id, body.status, body.end_time)


@router.get("/runs/{run_id}/metrics/history", tags=["runs"])
def get_metric_history(
    run_id: str, store: Store, key: Annotated[str, Query(description="metric key")]
) -> list[MetricPoint]:
    """Every point of one metric, ordered by step then timestamp."""
    return store.get_metric_history(run_id, key)


# artifact records ----------------------------------------------------------------
@router.post("/runs/{run_id}/artifacts", status_code=status.HTTP_201_CREATED, tags=["artifacts"])
def log_artifact(run_id: str, record: ArtifactRecord, store: Store) -> ArtifactRecord:
    """Record an artifact (already in the artifact store) under a path of the run."""
    # the path becomes a file name when the artifact is downloaded: refuse it here too
    check_relative_path(record.path, "artifact path", field="path")
    store.log_artifact(run_id, record)
    return record


@router.get("/runs/{run_id}/artifacts", tags=["artifacts"])
def list_artifacts(run_id: str, store: Store) -> list[ArtifactRecord]:
    return store.list_artifacts(run_id)
