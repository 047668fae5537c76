"""In-process fixtures: the app over a fresh SQLite store, a client for it, and the store
itself, so each test can read back what a request did (or, for a rejected one, did not).
These are unit-level; the live server every area's remote backend talks to is
`knot_server` (tests/backends.py)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from knot.client.rest_store import RestTrackingStore
from knot.server.app import create_app
from knot.tracking.sql_store import SqlTrackingStore

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based TestClient in favour of httpx2; it still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from fastapi import FastAPI


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlTrackingStore]:
    sql = SqlTrackingStore(f"sqlite:///{tmp_path / 'knot.db'}")
    yield sql
    sql.close()


@pytest.fixture
def app(store: SqlTrackingStore, tmp_path: Path) -> FastAPI:
    return create_app(artifacts_uri=f"file://{tmp_path / 'artifacts'}", store=store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def in_process(client: TestClient) -> RestTrackingStore:
    """The HTTP client store, talking to the app in-process (ASGI, no socket): for unit
    tests of the client; the remote backend (`store_backend`) is a live server."""
    return RestTrackingStore("http://testserver", client=client)


@pytest.fixture
def run_id(store: SqlTrackingStore) -> str:
    experiment = store.create_experiment("exp")
    return store.create_run(experiment.experiment_id, user="tester").run_id
