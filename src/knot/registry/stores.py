"""Registry stores, chosen by the same URI as the tracking store: sqlite:/// and
postgresql:// open the SQL repository, http(s):// the REST client of a Knot server."""

from __future__ import annotations

from collections.abc import Callable

from knot.registry.protocol import RegistryStore
from knot.store.backends import backend_for, schemes

__all__ = ["open_registry_store", "register_scheme"]

#: (uri, the tracking store opened on the same URI or None) -> RegistryStore. Given the
#: tracking store, a backend shares its connection (one engine, one HTTP client).
Factory = Callable[[str, object], RegistryStore]

# scheme -> "module:factory", imported on first use (the REST client is a door above us)
_SCHEMES: dict[str, str] = schemes(
    "knot.registry.sql_store:open_sql_registry", "knot.client.rest_registry:open_rest_registry"
)


def register_scheme(scheme: str, target: str) -> None:
    """Add a backend: `target` is "module:callable" taking (uri, tracking store or None)."""
    _SCHEMES[scheme] = target


def open_registry_store(uri: str, tracking: object = None) -> RegistryStore:
    factory: Factory = backend_for(uri, _SCHEMES)
    return factory(uri, tracking)
