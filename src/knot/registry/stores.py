"""Registry stores, chosen by the same URI as the tracking store: sqlite:/// and
postgresql:// open the SQL repository, http(s):// the REST client of a Knot server."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from knot.errors import Invalid
from knot.registry.protocol import RegistryStore

__all__ = ["open_registry_store", "register_scheme"]

#: (uri, the tracking store opened on the same URI or None) -> RegistryStore. Given the
#: tracking store, a backend shares its connection (one engine, one HTTP client).
Factory = Callable[[str, object], RegistryStore]

# scheme -> "module:factory", imported on first use (the REST client is a door above us)
_SCHEMES: dict[str, str] = {
    "sqlite": "knot.registry.sql_store:open_sql_registry",
    "postgresql": "knot.registry.sql_store:open_sql_registry",
    "postgres": "knot.registry.sql_store:open_sql_registry",
    "postgresql+psycopg": "knot.registry.sql_store:open_sql_registry",
    "http": "knot.client.rest_registry:open_rest_registry",
    "https": "knot.client.rest_registry:open_rest_registry",
}


def register_scheme(scheme: str, target: str) -> None:
    """Add a backend: `target` is "module:callable" taking (uri, tracking store or None)."""
    _SCHEMES[scheme] = target


def open_registry_store(uri: str, tracking: object = None) -> RegistryStore:
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    target = _SCHEMES.get(scheme)
    if target is None:
        raise Invalid(
            f"store URI {uri!r} has no supported scheme; use one of "
            "sqlite:////abs/path/knot.db, postgresql://user@host:port/db, http://host:port",
            field="store",
        )
    module, _, name = target.partition(":")
    factory: Factory = getattr(importlib.import_module(module), name)
    return factory(uri, tracking)
