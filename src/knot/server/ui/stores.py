"""The stores a UI page reads and writes: the very holders the REST routes use
(knot.server.deps), so a page sees what the API sees and its writes are the same
audited store calls. The artifact store is opened once per app, on first use."""

from __future__ import annotations

import threading

from fastapi import Request

from knot.artifacts import ArtifactStore, open_blob_store
from knot.data.store import DatasetStore
from knot.errors import Invalid
from knot.governance.sql_store import SqlGovernance
from knot.registry.protocol import RegistryStore
from knot.server.deps import get_governance, get_registry, get_store
from knot.serving.traffic import TrafficStore
from knot.store.database import Database
from knot.tracking.protocol import TrackingStore

__all__ = ["artifacts", "datasets", "governance", "registry", "sql_db", "tracking", "traffic"]

_LOCK = threading.Lock()


def tracking(request: Request) -> TrackingStore:
    return get_store(request)


def registry(request: Request) -> RegistryStore:
    return get_registry(request)


def governance(request: Request) -> SqlGovernance:
    return get_governance(request)


def sql_db(request: Request) -> Database:
    """The server's metadata database (the governance store's), for the areas whose pages
    read SQL repositories directly: datasets, traffic, monitoring, the loop."""
    return governance(request).db


def traffic(request: Request) -> TrafficStore:
    db = getattr(registry(request), "db", None)
    if not isinstance(db, Database):
        raise Invalid("this server's registry has no SQL database for traffic records")
    return TrafficStore(db)


def artifacts(request: Request) -> ArtifactStore:
    state = request.app.state
    with _LOCK:
        opened: ArtifactStore | None = getattr(state, "ui_artifacts", None)
        if opened is None:
            opened = state.ui_artifacts = open_blob_store(state.artifacts_uri)
    return opened


def datasets(request: Request) -> DatasetStore:
    return DatasetStore(sql_db(request), artifacts(request))
