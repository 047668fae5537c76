"""Registry fixtures. `backend` gives one RegistryStore per backend of tests/backends.py
(SQLite, PostgreSQL, and the REST client against the session's live `knot server`),
with a tracking store and a Database on the same metadata store, so a test can create
the runs models come from and read what the registry wrote (audit rows, lineage edges).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.backends import StoreBackend

from knot.backends import open_registry_store, open_tracking_store
from knot.registry.entities import Environment, VersionSource
from knot.registry.protocol import RegistryStore
from knot.store.database import Database
from knot.tracking.entities import ArtifactRecord, Batch
from knot.tracking.protocol import TrackingStore


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


@pytest.fixture
def backend(store_backend: StoreBackend) -> Iterator[Backend]:
    tracking = open_tracking_store(store_backend.uri)
    registry = open_registry_store(store_backend.uri, tracking)
    db = Database(store_backend.db_uri)
    yield Backend(store_backend.name, registry, tracking, db, store_backend.uri)
    registry.close()
    tracking.close()
    db.close()


@pytest.fixture
def model_name() -> str:
    """A model name no other test uses, so no assertion depends on the store being new."""
    return f"churn-{uuid.uuid4().hex[:8]}"
