"""Fixtures for the data area: the data store on every backend of tests/backends.py
(SQLite, PostgreSQL, the live server), and small tables whose every value is known, so
each rule and statistic can be checked exactly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest

from knot.artifacts import ArtifactStore, open_blob_store
from knot.backends import open_data_store, open_tracking_store
from knot.data.protocol import DataStore
from knot.store.database import Database
from tests.backends import StoreBackend


@dataclass
class DataBackend:
    """A data store to test, the Database beneath it (to read what it wrote) and the
    artifact store its blobs land in (the server's, for the remote backend)."""

    name: str
    store: DataStore
    db: Database
    artifacts: ArtifactStore


@pytest.fixture
def data_backend(store_backend: StoreBackend) -> Iterator[DataBackend]:
    """The data store on SQLite, PostgreSQL and the live server (over REST)."""
    tracking = open_tracking_store(store_backend.uri)
    artifacts = open_blob_store(store_backend.artifacts_uri)
    store = open_data_store(store_backend.uri, tracking, lambda: artifacts)
    db = Database(store_backend.db_uri)
    yield DataBackend(store_backend.name, store, db, artifacts)
    db.close()
    tracking.close()


@pytest.fixture
def data_store(data_backend: DataBackend) -> DataStore:
    return data_backend.store


def customers(n: int = 200) -> pd.DataFrame:
    """n customers: ages 18..(18+n), three plans, emails, a few null emails."""
    return pd.DataFrame(
        {
            "id": range(n),
            "age": [18 + i % 80 for i in range(n)],
            "plan": pd.Categorical([("basic", "plus", "pro")[i % 3] for i in range(n)]),
            "email": [None if i % 50 == 0 else f"user{i}@example.com" for i in range(n)],
            "spend": [float(i % 10) for i in range(n)],
            "status": ["active" if i % 10 else "churned" for i in range(n)],
            "signed_up": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return customers()
