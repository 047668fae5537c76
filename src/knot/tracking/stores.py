"""How tracking gets the store a URI names without naming an implementation.

knot.backends, a door above the areas, picks the SQL repository or the REST client by
the URI's scheme and hands that choice to `install` when `knot` is imported (every
`import knot.…` runs knot/__init__.py first), so this area imports no door and every
arrow to an implementation is a plain import import-linter sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.tracking.protocol import TrackingStore

__all__ = ["TrackingOpener", "install", "open_tracking_store"]

#: metadata store URI -> the tracking store on it
TrackingOpener = Callable[[str], "TrackingStore"]

_slot: OpenerSlot[TrackingOpener] = OpenerSlot("tracking")
install = _slot.install


def open_tracking_store(uri: str) -> TrackingStore:
    """The tracking store `uri` names; an unknown scheme says which ones exist."""
    return _slot.get()(uri)
