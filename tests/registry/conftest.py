"""Registry fixtures. `backend` gives one RegistryStore per implementation (SQLite,
PostgreSQL, and the REST client against a real `knot server` started once per session),
with a tracking store and a Database on the same metadata store, so a test can create
the runs models come from and read what the registry wrote (audit rows, lineage edges).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.postgres import PostgresServer

from knot.backends import open_registry_store, open_tracking_store
from knot.registry.entities import Environment, VersionSource
from knot.registry.protocol import RegistryStore
from knot.store.database import Database
from knot.tracking.entities import ArtifactRecord, Batch
from knot.tracking.protocol import TrackingStore


@dataclass(frozen=True)
class RegistryServer:
    url: str
    store_uri: str
    artifacts_uri: str


@dataclass
class Backend:
    """A registry to test, the tracking store and database beneath it."""

    name: str
    registry: RegistryStore
    tracking: TrackingStore
    db: Database
    uri: str

    def open_registry(self) -> RegistryStore:
        """Another, independent registry store on the same backend (a second writer)."""
        return open_registry_store(self.uri)

    def model_run(self, metrics: dict[str, float] | None = None) -> VersionSource:
        """A finished run with a logged model artifact and `metrics`: what a version needs."""
        exp = self.tracking.get_experiment_by_name("registry") or self.tracking.create_experiment(
            "registry"
        )
        run = self.tracking.create_run(exp.experiment_id, user="tester", name="train")
        digest = "sha256:" + uuid.uuid4().hex * 2
        record = ArtifactRecord(path="model", digest=digest, size=10, kind="folder")
        self.tracking.log_artifact(run.run_id, record)
        points = [(run.run_id, k, float(v), 0, 1) for k, v in (metrics or {}).items()]
        self.tracking.log_batch(Batch(metrics=points, ends=[(run.run_id, "FINISHED", 2)]))
        return VersionSource(
            run_id=run.run_id,
            artifact_path="model",
            artifact_digest=digest,
            flavor="sklearn",
            environment=Environment(python="3.11.7", packages={"scikit-learn": "1.9.1"}),
        )


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A real `knot server` for the session's remote registry tests."""
    from tests.server.live import live_server

    root = tmp_path_factory.mktemp("registry-server")
    store, artifacts = f"sqlite:///{root / 'knot.db'}", f"file://{root / 'artifacts'}"
    with live_server(store, artifacts) as url:
        yield RegistryServer(url, store, artifacts)


@pytest.fixture(params=["sqlite", "postgres", pytest.param("remote", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        uri = db_uri = f"sqlite:///{tmp_path / 'knot.db'}"
    elif request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        uri = db_uri = server.new_database()
    else:
        live: RegistryServer = request.getfixturevalue("registry_server")
        uri, db_uri = live.url, live.store_uri
    tracking = open_tracking_store(uri)
    registry = open_registry_store(uri, tracking)
    db = Database(db_uri)
    yield Backend(request.param, registry, tracking, db, uri)
    registry.close()
    tracking.close()
    db.close()


@pytest.fixture
def model_name() -> str:
    """A model name no other test uses (the remote backend's store is shared)."""
    return f"churn-{uuid.uuid4().hex[:8]}"
