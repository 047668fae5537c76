"""What the routes depend on: the app's stores, each opened on first use and kept, and
the FastAPI dependencies that hand them to a request. The app (app.py) builds these
holders; route modules import only this module, never the app, so nothing loops."""

from __future__ import annotations

import threading

from fastapi import Request

from knot.backends import backend_of, open_sql_governance, open_tracking_store
from knot.config import settings
from knot.errors import Invalid, Unavailable
from knot.governance.sql_store import SqlGovernance
from knot.registry.protocol import RegistryStore
from knot.registry.sql_store import open_sql_registry
from knot.tracking.protocol import TrackingStore

__all__ = [
    "GovernanceHolder",
    "RegistryHolder",
    "StoreHolder",
    "get_governance",
    "get_registry",
    "get_store",
    "open_store",
]


def open_store(uri: str) -> TrackingStore:
    """open_tracking_store, with OS errors (a folder that is a file, no permission) turned
    into a Knot error that names the store, instead of a traceback."""
    try:
        return open_tracking_store(uri)
    except OSError as exc:
        raise Unavailable(
            f"cannot open the metadata store {uri!r}: {exc}; check the path and its permissions"
        ) from exc


class StoreHolder:
    """Opens the tracking store on first use (startup or first request) and keeps it."""

    def __init__(self, uri: str | None, store: TrackingStore | None = None) -> None:
        self.uri = uri
        self._store = store
        self._lock = threading.Lock()

    def get(self) -> TrackingStore:
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                uri = self.uri
                if uri is None:
                    uri = self.uri = settings().store_uri
                self._store = open_store(uri)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def _sql_uri(uri: str, needs: str) -> str:
    """`uri`, or Invalid when this server's store is another Knot server."""
    if backend_of(uri) == "rest":
        raise Invalid(
            f"this server's store {uri!r} is another Knot server; serve a SQL store "
            f"(sqlite:/// or postgresql://) for {needs}",
            field="store",
        )
    return uri


class GovernanceHolder:
    """Opens the governance store (on the tracking store's database) on first use."""

    def __init__(self, stores: StoreHolder) -> None:
        self._stores = stores
        self._governance: SqlGovernance | None = None
        self._lock = threading.Lock()

    def get(self) -> SqlGovernance:
        if self._governance is not None:
            return self._governance
        uri = self._stores.get().uri  # opens (and migrates) the store, resolving KNOT_STORE
        with self._lock:
            if self._governance is None:
                uri = _sql_uri(uri, "lineage, audit and tokens")
                self._governance = open_sql_governance(uri)
            return self._governance

    def close(self) -> None:
        with self._lock:
            if self._governance is not None:
                self._governance.close()
                self._governance = None


class RegistryHolder:
    """Opens the SQL registry on the tracking store's database on first use."""

    def __init__(self, stores: StoreHolder) -> None:
        self._stores = stores
        self._registry: RegistryStore | None = None
        self._lock = threading.Lock()

    def get(self) -> RegistryStore:
        if self._registry is not None:
            return self._registry
        tracking = self._stores.get()
        with self._lock:
            if self._registry is None:
                uri = _sql_uri(tracking.uri, "the model registry")
                self._registry = open_sql_registry(uri, tracking)
            return self._registry

    def close(self) -> None:
        with self._lock:
            if self._registry is not None:
                self._registry.close()
                self._registry = None


def get_store(request: Request) -> TrackingStore:
    """FastAPI dependency: the app's tracking store."""
    holder: StoreHolder = request.app.state.store_holder
    return holder.get()


def get_governance(request: Request) -> SqlGovernance:
    """FastAPI dependency: the app's governance store."""
    holder: GovernanceHolder = request.app.state.governance_holder
    return holder.get()


def get_registry(request: Request) -> RegistryStore:
    """FastAPI dependency: the app's registry store."""
    holder: RegistryHolder = request.app.state.registry_holder
    return holder.get()
