"""The tracking store conformance suite runs once per backend: SQLite, PostgreSQL and
the HTTP client talking to a real `knot server` process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knot.backends import open_tracking_store
from knot.tracking.protocol import TrackingStore
from tests.postgres import PostgresServer

BACKENDS = ["sqlite", "postgres", "remote"]


@pytest.fixture(scope="session")
def remote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.server.live import live_server

    root = tmp_path_factory.mktemp("remote-store")
    with live_server(f"sqlite:///{root / 'knot.db'}", f"file://{root / 'artifacts'}") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def tracking_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackingStore]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'knot.db'}"
    elif request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        uri = server.new_database()
    else:
        uri = request.getfixturevalue("remote_server")
    store = open_tracking_store(uri)
    yield store
    store.close()
