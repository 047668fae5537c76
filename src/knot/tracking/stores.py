"""How tracking gets the store a URI names without naming an implementation.

knot.backends, a door above the areas, picks the SQL repository or the REST client by
the URI's scheme and hands that choice to `install` when `knot` is imported (every
`import knot.…` runs knot/__init__.py first), so this area imports no door and every
arrow to an implementation is a plain import import-linter sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knot.tracking.protocol import TrackingStore

__all__ = ["TrackingOpener", "install", "open_tracking_store"]

#: metadata store URI -> the tracking store on it
TrackingOpener = Callable[[str], "TrackingStore"]

_opener: TrackingOpener | None = None


def install(opener: TrackingOpener) -> None:
    """Use `opener` for every tracking store from now on (knot.backends calls this)."""
    global _opener
    _opener = opener


def open_tracking_store(uri: str) -> TrackingStore:
    """The tracking store `uri` names; an unknown scheme says which ones exist."""
    if _opener is None:
        raise RuntimeError("no tracking backends installed; import knot first")
    return _opener(uri)
