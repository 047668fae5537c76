"""How monitoring gets its store without naming an implementation.

knot.backends, a door above the areas, picks SqlMonitoring on the tracking store's
database or the REST client of the Knot server KNOT_STORE names, and hands that choice
to `install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot, PerSession

if TYPE_CHECKING:
    from knot.monitoring.protocol import MonitoringStore

__all__ = ["MonitoringOpener", "install", "monitoring_store", "open_monitoring"]

#: (metadata store URI, the tracking store opened on it or None) -> the monitoring
#: store; given the tracking store, a backend shares its connection (engine or client)
MonitoringOpener = Callable[[str, object], "MonitoringStore"]

_slot: OpenerSlot[MonitoringOpener] = OpenerSlot("monitoring")
install = _slot.install
_current: PerSession[MonitoringStore] = PerSession()


def open_monitoring(uri: str, tracking: object = None) -> MonitoringStore:
    """The monitoring store `uri` names, sharing `tracking`'s connection when given."""
    return _slot.get()(uri, tracking)


def monitoring_store() -> MonitoringStore:
    """The monitoring store of the current session (KNOT_STORE), reopened when the
    session changes."""
    from knot.tracking.fluent import session

    s = session()
    return _current.get(s, lambda: open_monitoring(s.store_uri, s.store))
