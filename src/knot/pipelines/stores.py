"""How pipelines get their records store without naming an implementation.

knot.backends, a door above the areas, picks the SQL records on the session's database
or the REST client of the Knot server the session talks to, and hands that choice to
`install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.pipelines.protocol import PipelineRecords
    from knot.tracking.session import Session

__all__ = ["PipelinesOpener", "install", "open_pipeline_records", "records_of"]

#: (the session's tracking store, its URI) -> the pipeline records on the same store
PipelinesOpener = Callable[[object, str], "PipelineRecords"]

_slot: OpenerSlot[PipelinesOpener] = OpenerSlot("pipelines")
install = _slot.install


def open_pipeline_records(tracking: object, uri: str) -> PipelineRecords:
    """The pipeline records beside `tracking` (its database, or its Knot server)."""
    return _slot.get()(tracking, uri)


def records_of(session: Session) -> PipelineRecords:
    """The pipeline records of `session`'s metadata store."""
    return open_pipeline_records(session.store, session.store_uri)
