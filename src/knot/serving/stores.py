"""How serving gets the traffic records beside a registry store without naming an
implementation.

knot.backends, a door above the areas, picks the SQL records on the registry's
database or the REST client of the Knot server it talks to, and hands that choice to
`install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.registry.protocol import RegistryStore
    from knot.serving.traffic import TrafficRecords

__all__ = ["TrafficOpener", "install", "open_traffic"]

#: the registry store of a session -> the traffic records on the same store
TrafficOpener = Callable[["RegistryStore"], "TrafficRecords"]

_slot: OpenerSlot[TrafficOpener] = OpenerSlot("traffic")
install = _slot.install


def open_traffic(registry: RegistryStore) -> TrafficRecords:
    """The traffic records on `registry`'s store (its database, or its Knot server)."""
    return _slot.get()(registry)
