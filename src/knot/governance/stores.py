"""How governance gets the store a URI names without naming an implementation.

knot.backends, a door above the areas, picks SqlGovernance (with the registry's alias
resolver, an area above this one) or the REST client by the URI's scheme and hands
that choice to `install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.governance.protocol import GovernanceStore

__all__ = ["GovernanceOpener", "install", "open_governance"]

#: metadata store URI -> the governance store on it
GovernanceOpener = Callable[[str], "GovernanceStore"]

_slot: OpenerSlot[GovernanceOpener] = OpenerSlot("governance")
install = _slot.install


def open_governance(uri: str) -> GovernanceStore:
    """The governance store `uri` names; an unknown scheme says which ones exist."""
    return _slot.get()(uri)
