"""How the registry gets the store a URI names without naming an implementation.

knot.backends, a door above the areas, picks the SQL repository or the REST client by
the URI's scheme (the same URI as the tracking store) and hands that choice to
`install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.registry.protocol import RegistryStore

__all__ = ["RegistryOpener", "install", "open_registry_store"]

#: (metadata store URI, the tracking store opened on it or None) -> the registry store.
#: Given the tracking store, a backend shares its connection (one engine, one client).
RegistryOpener = Callable[[str, object], "RegistryStore"]

_slot: OpenerSlot[RegistryOpener] = OpenerSlot("registry")
install = _slot.install


def open_registry_store(uri: str, tracking: object = None) -> RegistryStore:
    """The registry store `uri` names, sharing `tracking`'s connection when given."""
    return _slot.get()(uri, tracking)
