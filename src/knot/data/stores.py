"""How the data area gets the store a URI names without naming an implementation.

knot.backends, a door above the areas, picks the SQL DatasetStore or the REST client
by the URI's scheme (the same URI as the tracking store) and hands that choice to
`install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.artifacts import ArtifactStore
    from knot.data.protocol import DataStore

__all__ = ["DataOpener", "install", "open_data_store"]

#: (metadata store URI, the tracking store opened on it, the artifact store's opener) ->
#: the data store. The SQL store shares the tracking store's Database and opens the
#: artifact store; the REST client shares its HTTP client and sends blobs to the server.
DataOpener = Callable[[str, object, Callable[[], "ArtifactStore"]], "DataStore"]

_slot: OpenerSlot[DataOpener] = OpenerSlot("data")
install = _slot.install


def open_data_store(
    uri: str, tracking: object, artifacts: Callable[[], ArtifactStore]
) -> DataStore:
    """The data store `uri` names, sharing `tracking`'s connection."""
    return _slot.get()(uri, tracking, artifacts)
