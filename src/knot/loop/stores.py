"""How the retrain loop gets its store without naming an implementation.

knot.backends, a door above the areas, picks the SQL store on the session's database
or the REST client of the Knot server the session talks to, and hands that choice to
`install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.loop.protocol import LoopStore

__all__ = ["LoopOpener", "install", "loop_store", "open_loop_store"]

#: (the session's tracking store, its URI) -> the loop store on the same store
LoopOpener = Callable[[object, str], "LoopStore"]

_slot: OpenerSlot[LoopOpener] = OpenerSlot("retrain loop")
install = _slot.install


def open_loop_store(tracking: object, uri: str) -> LoopStore:
    """The loop store beside `tracking` (its database, or its Knot server)."""
    return _slot.get()(tracking, uri)


def loop_store() -> LoopStore:
    """The loop store of the current session."""
    from knot.tracking.fluent import session

    s = session()
    return open_loop_store(s.store, s.store_uri)
