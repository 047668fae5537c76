"""How governance gets the store a URI names without naming an implementation.

knot.backends, a door above the areas, picks SqlGovernance (with the registry's alias
resolver, an area above this one) or the REST client by the URI's scheme and hands
that choice to `install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knot.governance.protocol import GovernanceStore

__all__ = ["GovernanceOpener", "install", "open_governance"]

#: metadata store URI -> the governance store on it
GovernanceOpener = Callable[[str], "GovernanceStore"]

_opener: GovernanceOpener | None = None


def install(opener: GovernanceOpener) -> None:
    """Use `opener` for every governance store from now on (knot.backends calls this)."""
    global _opener
    _opener = opener


def open_governance(uri: str) -> GovernanceStore:
    """The governance store `uri` names; an unknown scheme says which ones exist."""
    if _opener is None:
        raise RuntimeError("no governance backends installed; import knot first")
    return _opener(uri)
