"""Fixtures for the data area: a DatasetStore on SQLite and on PostgreSQL, and small
tables whose every value is known, so each rule and statistic can be checked exactly."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from knot.artifacts import open_blob_store
from knot.data.store import DatasetStore
from knot.store.database import Database
from tests.backends import StoreBackend


@pytest.fixture
def data_store(sql_backend: StoreBackend) -> Iterator[DatasetStore]:
    """A DatasetStore on SQLite and on PostgreSQL; datasets need a SQL store (the server
    does not serve them yet, issue #15), so there is no remote case."""
    db = Database(sql_backend.db_uri)
    yield DatasetStore(db, open_blob_store(sql_backend.artifacts_uri))
    db.close()


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
