"""The Knot REST app: one tracking store per app, opened once, shared by every request."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from knot._version import __version__
from knot.errors import Invalid, KnotError
from knot.server import auth as access
from knot.server import ui
from knot.server.deps import GovernanceHolder, RegistryHolder, StoreHolder
from knot.server.error_handlers import install_error_handlers
from knot.server.mlflow.api import READ_ONLY as MLFLOW_READS
from knot.server.mlflow.api import router as mlflow_router
from knot.server.mlflow.fast_path import install_fast_path
from knot.server.openapi_doc import document_errors
from knot.server.routes import batch as batch_routes
from knot.server.routes import blobs as blob_routes
from knot.server.routes import data as data_routes
from knot.server.routes import governance as governance_routes
from knot.server.routes import loop as loop_routes
from knot.server.routes import monitoring as monitoring_routes
from knot.server.routes import pipelines as pipeline_routes
from knot.server.routes import registry as registry_routes
from knot.server.routes import tracking as tracking_routes
from knot.server.routes import traffic as traffic_routes
from knot.tracking.protocol import TrackingStore

__all__ = ["ARTIFACTS_ENV", "STORE_ENV", "app_from_env", "create_app"]

log = logging.getLogger("knot.server")

# How `run_server` hands the stores to worker processes that build the app themselves.
STORE_ENV = "KNOT_SERVER_STORE"
ARTIFACTS_ENV = "KNOT_SERVER_ARTIFACTS"


def create_app(
    store_uri: str | None = None,
    artifacts_uri: str | None = None,
    *,
    store: TrackingStore | None = None,
    auth: bool | None = None,
) -> FastAPI:
    """Build the app. `store` (an open store) wins over `store_uri`; with neither, the
    store is KNOT_STORE from `knot.config.settings()`. `auth` (default: KNOT_AUTH)
    requires an API token on every route but /health (see knot.server.auth)."""
    holder = StoreHolder(store.uri if store is not None else store_uri, store)
    governance = GovernanceHolder(holder)
    registry = RegistryHolder(holder)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            holder.get()
        except Invalid:
            raise  # a wrong URI will not fix itself: refuse to start
        except KnotError as exc:
            # e.g. PostgreSQL still starting: serve 503s and retry on each request
            log.warning("tracking store not open yet: %s", exc.message)
        yield
        governance.close()
        registry.close()
        if store is None:
            holder.close()

    app = FastAPI(
        title="Knot",
        version=__version__,
        description="Tracking server: experiments, runs, metrics, params, tags, artifacts.",
        lifespan=lifespan,
    )
    app.state.store_holder = holder
    app.state.governance_holder = governance
    app.state.registry_holder = registry
    app.state.artifacts_uri = artifacts_uri
    app.state.auth = False
    if access.auth_from_env() if auth is None else auth:
        # before the error handlers, so their catch-all wraps the auth middleware too
        access.install_auth(app, read_only=["POST /api/v1/runs/search", *MLFLOW_READS])
    install_error_handlers(app)

    # first in the route list: probes call it every few seconds, and a route is found by
    # trying the routes in order
    @app.get("/health", tags=["server"], summary="200 once the tracking store is open")
    def health() -> Response:
        try:
            holder.get()
        except KnotError as exc:
            body = {"status": "unavailable", **exc.to_dict()}
            return Response(orjson.dumps(body), status_code=503, media_type="application/json")
        return Response(b'{"status":"ok"}', media_type="application/json")

    app.include_router(tracking_routes.router, prefix="/api/v1")
    app.include_router(batch_routes.router, prefix="/api/v1")
    app.include_router(governance_routes.router, prefix="/api/v1")
    app.include_router(registry_routes.router, prefix="/api/v1")
    app.include_router(traffic_routes.router, prefix="/api/v1")
    app.include_router(blob_routes.router, prefix="/api/v1")
    app.include_router(data_routes.router, prefix="/api/v1")
    app.include_router(monitoring_routes.router, prefix="/api/v1")
    app.include_router(loop_routes.router, prefix="/api/v1")
    app.include_router(pipeline_routes.router, prefix="/api/v1")
    app.include_router(ui.router)
    app.include_router(mlflow_router)  # MLflow's REST API, for MLflow's own clients
    install_fast_path(app)  # MLflow's exact paths first: one request per logged metric

    batch_routes.document(app)
    document_errors(app)
    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes: stores come from environment variables."""
    app = create_app(os.environ.get(STORE_ENV), os.environ.get(ARTIFACTS_ENV))
    gc.freeze()  # see knot.server.run: start-up objects out of every garbage collection
    return app
