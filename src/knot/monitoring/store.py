"""The metadata database monitoring writes to: the one KNOT_STORE names, opened once per
process and reopened when KNOT_STORE changes (tests switch it per test)."""

from __future__ import annotations

import threading

from knot.config import settings
from knot.errors import Invalid
from knot.store.backends import SQL_SCHEMES
from knot.store.database import Database

__all__ = ["monitor_db"]

_lock = threading.Lock()
_open: Database | None = None


def monitor_db() -> Database:
    """The Database of the current KNOT_STORE (a SQL store)."""
    global _open
    uri = settings().store_uri
    with _lock:
        if _open is not None and _open.uri == uri:
            return _open
        scheme = uri.split(":", 1)[0].lower()
        if scheme not in SQL_SCHEMES:
            raise Invalid(
                f"monitoring keeps its rules and results in a SQL metadata store, but KNOT_STORE "
                f"is {uri!r}; run monitoring where KNOT_STORE is sqlite:/// or postgresql://",
                field="store",
            )
        if _open is not None:
            _open.close()
        _open = Database(uri)
        return _open
