"""The feature store SDK on the stores KNOT_STORE and KNOT_ARTIFACTS name, with the online
store KNOT_ONLINE_STORE names (default: sqlite:///$KNOT_HOME/online.db)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from knot.config import settings
from knot.features.catalog import Applied, StoredService
from knot.features.definitions import FeatureService, FeatureView
from knot.features.loading import load_definitions
from knot.features.materialization import Materialized
from knot.features.store import FeatureStore
from knot.store.database import database_of
from knot.tracking.fluent import active_run, session

__all__ = [
    "apply",
    "bind_model",
    "feature_store",
    "get_online_features",
    "materialize",
    "online_uri",
    "training_set",
]

_lock = threading.Lock()
_open: FeatureStore | None = None


def online_uri() -> str:
    return os.environ.get("KNOT_ONLINE_STORE") or f"sqlite:///{settings().home / 'online.db'}"


def feature_store() -> FeatureStore:
    """The FeatureStore for the current settings, reopened when they change."""
    global _open
    s = session()
    db = database_of(s.store, s.store_uri, "the feature store needs")
    uri = online_uri()
    with _lock:
        current = _open
        if current is None or current.db is not db or current.online_uri != uri:
            if current is not None:
                current.close()
            _open = current = FeatureStore(db, s.artifacts, uri)
        return current


def apply(definitions: Sequence[FeatureView | FeatureService] | str | Path) -> list[Applied]:
    """Register feature views and services (or the ones a .yaml/.py file defines)."""
    if isinstance(definitions, str | Path):
        definitions = load_definitions(Path(definitions))
    return feature_store().apply(definitions)


def training_set(
    entity_frame: Any,
    features: Sequence[str] = (),
    *,
    service: str | None = None,
    timestamp: str = "event_timestamp",
    full_names: bool = False,
    run_id: str | None = None,
) -> Any:
    """Point-in-time-correct features joined onto `entity_frame` (pandas, Arrow or a
    Parquet path): for each row the newest values stamped at or before its `timestamp`,
    null past the view's TTL. Returns the kind it was given (pandas for pandas, else an
    Arrow table) and records the lineage (views -> training set -> the active run)."""
    import pandas as pd

    if run_id is None:
        run = active_run()
        run_id = run.run_id if run is not None else None
    if isinstance(entity_frame, pd.DataFrame):
        entities: pa.Table | Path = pa.Table.from_pandas(entity_frame, preserve_index=False)
    elif isinstance(entity_frame, str | Path):
        entities = Path(entity_frame)
    else:
        entities = entity_frame
    result = feature_store().training_set(
        entities, features, service=service, timestamp=timestamp, full_names=full_names,
        run_id=run_id,
    )  # fmt: skip
    return result.table.to_pandas() if isinstance(entity_frame, pd.DataFrame) else result.table


def materialize(
    views: Sequence[str] = (), end: datetime | None = None, full: bool = False
) -> list[Materialized]:
    """Write the newest values of `views` (default: all) to the online store."""
    return feature_store().materialize(views, end, full)


def get_online_features(
    service: str, entities: Sequence[Mapping[str, Any]], full_names: bool = False
) -> list[dict[str, Any]]:
    """Each entity row ({"user_id": 7}) with the service's online features."""
    return feature_store().get_online_features(service, entities, full_names)


def bind_model(model: str, version: int, service: str) -> StoredService:
    """Serve `model` version `version` from entity ids: `knot serve` reads its inputs
    from `service`'s online features."""
    return feature_store().catalog.bind_model(model, version, service)
