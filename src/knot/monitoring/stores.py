"""How monitoring gets its store without naming an implementation.

knot.backends, a door above the areas, picks SqlMonitoring on the tracking store's
database or the REST client of the Knot server KNOT_STORE names, and hands that choice
to `install` when `knot` is imported, so this area imports no door.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from knot.store.opener_slot import OpenerSlot

if TYPE_CHECKING:
    from knot.monitoring.protocol import MonitoringStore
    from knot.tracking.session import Session

__all__ = ["MonitoringOpener", "install", "monitoring_store", "open_monitoring"]

#: (metadata store URI, the tracking store opened on it or None) -> the monitoring
#: store; given the tracking store, a backend shares its connection (engine or client)
MonitoringOpener = Callable[[str, object], "MonitoringStore"]

_slot: OpenerSlot[MonitoringOpener] = OpenerSlot("monitoring")
install = _slot.install
_lock = threading.Lock()
_current: tuple[Session, MonitoringStore] | None = None


def open_monitoring(uri: str, tracking: object = None) -> MonitoringStore:
    """The monitoring store `uri` names, sharing `tracking`'s connection when given."""
    return _slot.get()(uri, tracking)


def monitoring_store() -> MonitoringStore:
    """The monitoring store of the current session (KNOT_STORE), reopened when the
    session changes."""
    from knot.tracking.fluent import session

    global _current
    s = session()
    with _lock:
        if _current is not None and _current[0] is s:
            return _current[1]
        if _current is not None:
            _current[1].close()
        store = open_monitoring(s.store_uri, s.store)
        _current = (s, store)
        return store
