"""Metadata stores, chosen by URI scheme: sqlite:///, postgresql://, http(s):// (remote)."""

from __future__ import annotations

from knot.store.backends import backend_for, schemes
from knot.tracking.protocol import TrackingStore

__all__ = ["TrackingStore", "open_tracking_store", "register_scheme"]

_SCHEMES: dict[str, str] = schemes(
    "knot.tracking.sql_store:SqlTrackingStore", "knot.client.rest_store:RestTrackingStore"
)


def register_scheme(scheme: str, target: str) -> None:
    """Add a backend: `target` is "module:callable" taking the URI."""
    _SCHEMES[scheme] = target


def open_tracking_store(uri: str) -> TrackingStore:
    """Open the tracking store a URI names; an unknown scheme says which ones exist."""
    store: TrackingStore = backend_for(uri, _SCHEMES)(uri)
    return store
