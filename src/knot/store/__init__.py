"""Metadata stores, chosen by URI scheme: sqlite:///, postgresql://, http(s):// (remote)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from knot.errors import Invalid
from knot.store.protocol import TrackingStore

__all__ = ["TrackingStore", "open_tracking_store", "register_scheme"]

# scheme -> "module:factory", imported only when used so `import knot` stays fast
_SCHEMES: dict[str, str] = {
    "sqlite": "knot.tracking.sql_store:SqlTrackingStore",
    "postgresql": "knot.tracking.sql_store:SqlTrackingStore",
    "postgres": "knot.tracking.sql_store:SqlTrackingStore",
    "postgresql+psycopg": "knot.tracking.sql_store:SqlTrackingStore",
    "http": "knot.client.rest_store:RestTrackingStore",
    "https": "knot.client.rest_store:RestTrackingStore",
}


def register_scheme(scheme: str, target: str) -> None:
    """Add a backend: `target` is "module:callable" taking the URI."""
    _SCHEMES[scheme] = target


def open_tracking_store(uri: str) -> TrackingStore:
    """Open the tracking store a URI names; an unknown scheme says which ones exist."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    target = _SCHEMES.get(scheme)
    if target is None:
        raise Invalid(
            f"store URI {uri!r} has no supported scheme; use one of "
            "sqlite:////abs/path/knot.db, postgresql://user@host:port/db, http://host:port",
            field="store",
        )
    module, _, name = target.partition(":")
    factory: Callable[[str], TrackingStore] = getattr(importlib.import_module(module), name)
    return factory(uri)
