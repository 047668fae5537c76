"""MLflow's own client (mlflow-skinny) against the session's live `knot server`.

`mlflow_url` empties the server's store and points MLflow's client (in this process:
it talks to the server over real HTTP) at it; `knot_stores` opens Knot's SQL stores on
the same database, to check that what MLflow wrote is Knot's own rows."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from knot.artifacts import ArtifactStore, open_blob_store
from knot.registry.protocol import RegistryStore
from knot.registry.sql_store import open_sql_registry
from knot.tracking.sql_store import SqlTrackingStore
from tests.backends import KnotServer

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def mlflow_url(knot_server: KnotServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    knot_server.reset()
    # set through monkeypatch so they are undone: set_tracking_uri and set_registry_uri
    # also write these variables, which every later subprocess of this worker would inherit
    monkeypatch.setenv("MLFLOW_TRACKING_URI", knot_server.url)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", knot_server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # an error shows at once
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(knot_server.url)
    mlflow.set_registry_uri(knot_server.url)
    # the fluent API remembers the last experiment set, which the reset removed
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    yield knot_server.url
    while mlflow.active_run() is not None:
        mlflow.end_run()
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)  # set_experiment sets it


@pytest.fixture
def knot_tracking(knot_server: KnotServer) -> Iterator[SqlTrackingStore]:
    store = SqlTrackingStore(knot_server.store_uri)
    yield store
    store.close()


@pytest.fixture
def knot_registry(knot_tracking: SqlTrackingStore) -> Iterator[RegistryStore]:
    registry = open_sql_registry(knot_tracking.uri, knot_tracking)
    yield registry
    registry.close()


@pytest.fixture
def knot_artifacts(knot_server: KnotServer) -> ArtifactStore:
    return open_blob_store(knot_server.artifacts_uri)
