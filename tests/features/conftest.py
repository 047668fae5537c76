"""Fixtures for the feature store: a FeatureStore on SQLite and PostgreSQL metadata with a
SQLite online store, a session's redis-server, and small sources whose every value is
known."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from knot.artifacts import open_blob_store
from knot.features.store import FeatureStore
from knot.store.database import Database
from tests.backends import StoreBackend
from tests.features.models import SpendScore
from tests.features.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as uri:
        yield uri


@pytest.fixture
def feature_store(sql_backend: StoreBackend, tmp_path: Path) -> Iterator[FeatureStore]:
    db = Database(sql_backend.db_uri)
    store = FeatureStore(
        db, open_blob_store(sql_backend.artifacts_uri), f"sqlite:///{tmp_path / 'online.db'}"
    )
    yield store
    store.close()
    db.close()


@pytest.fixture
def local_features(tmp_path: Path) -> Iterator[FeatureStore]:
    """A FeatureStore on SQLite alone, for checks that do not depend on the database."""
    db = Database(f"sqlite:///{tmp_path / 'knot.db'}")
    store = FeatureStore(
        db,
        open_blob_store(f"file://{tmp_path / 'artifacts'}"),
        f"sqlite:///{tmp_path / 'online.db'}",
    )
    yield store
    store.close()
    db.close()


def user_rows() -> pd.DataFrame:
    """Two users' stats over January 2024: user 1 on the 1st and 5th, user 2 on the 2nd
    and 10th."""
    return pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-10"]),
            "spend": [1.0, 2.0, 3.0, 4.0],
            "visits": [10, 20, 30, 40],
        }
    )


@pytest.fixture
def users_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "users.parquet"
    user_rows().to_parquet(path)
    return path


@pytest.fixture
def bound_model(knot_home: Path, tmp_path: Path) -> str:
    """`spender` version 1, served from feature service `scoring` (users 1 and 2)."""
    import knot
    import knot.features as kf

    users = tmp_path / "users.parquet"
    now = datetime.now(UTC)
    pd.DataFrame(
        {
            "user_id": [1, 2, 2],
            "ts": [now - timedelta(hours=3), now - timedelta(hours=5), now - timedelta(hours=1)],
            "spend": [10.0, 20.0, 25.0],
        }
    ).to_parquet(users)
    kf.apply(
        [
            kf.FeatureView("users", "user_id", "ts", ["spend"], str(users), ttl="30d"),
            kf.FeatureService("scoring", ["users:spend"]),
        ]
    )
    kf.materialize()
    example = pd.DataFrame({"user_id": [1, 2], "spend": [1.0, 2.0]})
    knot.log_model(SpendScore(), registered_model_name="spender", input_example=example)
    kf.bind_model("spender", 1, "scoring")
    return "models:/spender/1"
