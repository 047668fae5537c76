"""The audit trail of what a running service serves: one "serving.swap" row per slot
switch (hot swap, challenger added or removed), however many workers the service has.

Every worker of a service makes the same switch, each on its own poll. The row in
`serving_slots` for (service, role) is the marker of what the service serves; a worker
records a switch by a compare-and-set on it (UPDATE ... WHERE version and digest = what it
served before, INSERT ... ON CONFLICT DO NOTHING, DELETE ... WHERE ...), and only
the worker whose statement changed the row writes the audit row, in the same
transaction. The workers that come later find the marker moved already and write
nothing. Loading the first model at start-up only plants the marker: it is no switch.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from knot.governance import audit
from knot.serving.sources import ServedModel
from knot.serving.tables import serving_slots
from knot.store.database import Database, now_ms

__all__ = ["mark_served", "record_switch", "slot_state"]

log = logging.getLogger("knot.serving")
SWAP = "serving.swap"


def slot_state(role: str, served: ServedModel | None) -> dict[str, Any] | None:
    """What the audit row keeps of a slot: its role, version and digest."""
    if served is None:
        return None
    return {"role": role, "version": served.version, "digest": served.digest}


def _insert_new(conn: Connection, service: str, role: str, served: ServedModel) -> bool:
    values = {
        "service": service,
        "role": role,
        "model": served.name,
        "version": served.version,
        "digest": served.digest,
        "updated_at": now_ms(),
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(serving_slots).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["service", "role"])
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT
    return conn.execute(statement.returning(serving_slots.c.role)).first() is not None


def mark_served(db: Database, service: str, role: str, served: ServedModel) -> None:
    """Plant the marker for what a worker loaded at start-up (no audit row)."""
    with db.write() as conn:
        _insert_new(conn, service, role, served)


def _moved(
    conn: Connection, service: str, role: str, before: ServedModel, after: ServedModel | None
) -> bool:
    t = serving_slots
    was = (
        (t.c.service == service)
        & (t.c.role == role)
        & (t.c.version == before.version)
        & (t.c.digest == before.digest)
    )
    if after is None:
        return bool(conn.execute(t.delete().where(was)).rowcount == 1)
    values = {
        "model": after.name,
        "version": after.version,
        "digest": after.digest,
        "updated_at": now_ms(),
    }
    return bool(conn.execute(t.update().where(was).values(**values)).rowcount == 1)


def record_switch(
    db: Database,
    service: str,
    role: str,
    before: ServedModel | None,
    after: ServedModel | None,
) -> bool:
    """Move the marker from `before` to `after`; write the audit row if this worker's
    statement moved it (True), nothing if another worker of the service did (False)."""
    changed = after or before
    if changed is None:
        return False
    with db.write() as conn:
        if before is None:
            won = after is not None and _insert_new(conn, service, role, after)
        else:
            won = _moved(conn, service, role, before, after)
        if won:
            audit.record(
                conn, SWAP, "model", changed.name, slot_state(role, before), slot_state(role, after)
            )
        return won
