"""The metadata database monitoring writes to: the current session's (KNOT_STORE), so
monitoring shares the tracking store's engine and follows KNOT_STORE as the session does."""

from __future__ import annotations

from knot.store.database import Database, database_of

__all__ = ["monitor_db"]


def monitor_db() -> Database:
    """The Database of the current KNOT_STORE (a SQL store)."""
    from knot.tracking.fluent import session

    s = session()
    return database_of(s.store, s.store_uri, "monitoring needs")
