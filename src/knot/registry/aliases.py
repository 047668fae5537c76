"""Aliases inside a caller's transaction: look one up, move one, remove one.

A move is one INSERT or one UPDATE of the alias row, audited in the same transaction;
with `expected` the UPDATE only matches while the alias still points there, so two
writers racing from the same version cannot both win. `resolve_alias` reads every
`models:/NAME@ALIAS` (LATEST too, the newest ready version), the lineage graph's
included (knot.backends hands it to SqlGovernance).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from knot.errors import Conflict, NotFound
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.refs import LATEST
from knot.registry.rows import aliases_of, get_model, latest_version
from knot.registry.tables import model_aliases
from knot.store.database import now_ms

__all__ = ["current_version", "move_alias", "remove_alias", "resolve_alias"]


def _no_alias(conn: Connection, name: str, alias: str) -> NotFound:
    known = aliases_of(conn, name)
    if known:
        shown = ", ".join(f"{a} -> {v}" for a, v in known.items())
        has = f"its aliases: {shown}"
    else:
        has = f"it has no aliases yet (set one with `knot models alias {name} ALIAS VERSION`)"
    return NotFound(f"model {name!r} has no alias {alias!r}; {has}", field="alias")


def current_version(conn: Connection, name: str, alias: str) -> int | None:
    t = model_aliases
    query = select(t.c.version).where(t.c.name == name, t.c.alias == alias)
    return conn.execute(query).scalar()


def resolve_alias(conn: Connection, name: str, alias: str) -> int:
    """The version `alias` points at, or for LATEST the newest ready version; NotFound
    names the model's aliases (or its models)."""
    get_model(conn, name)
    if alias == LATEST:
        latest = latest_version(conn, name)
        if latest is None:
            raise NotFound(
                f"model {name!r} has no ready version, so models:/{name} names nothing; "
                "log one with knot.log_model(..., registered_model_name=...)",
                field="uri",
            )
        return latest
    version = current_version(conn, name, alias)
    if version is None:
        raise _no_alias(conn, name, alias)
    return version


def move_alias(
    conn: Connection, name: str, alias: str, version: int, expected: int | None = None
) -> int | None:
    """Point `alias` at `version`; returns the version it pointed at before (or None)."""
    t = model_aliases
    before = current_version(conn, name, alias)
    if expected is not None and before != expected:
        now = f"points at version {before}" if before is not None else "is not set"
        raise Conflict(
            f"alias {alias!r} of model {name!r} {now}, not version {expected}: it was moved "
            "meanwhile. Read it again and retry if you still want the move",
            field="expected_version",
        )
    values = {"version": version, "updated_at": now_ms(), "updated_by": current_actor()}
    if before is None:
        conn.execute(t.insert(), {"name": name, "alias": alias, **values})
    else:
        moved = conn.execute(
            t.update()
            .where(t.c.name == name, t.c.alias == alias, t.c.version == before)
            .values(**values)
        )
        if moved.rowcount != 1:
            raise Conflict(
                f"alias {alias!r} of model {name!r} was moved by another writer during this "
                "change; nothing was changed, retry",
                field="alias",
            )
    audit.record(
        conn,
        "set_alias",
        "model_alias",
        f"{name}@{alias}",
        None if before is None else {"version": before},
        {"version": version},
    )
    return before


def remove_alias(conn: Connection, name: str, alias: str) -> int:
    """Delete `alias`; returns the version it pointed at. NotFound if it is not set."""
    before = resolve_alias(conn, name, alias)
    t = model_aliases
    conn.execute(t.delete().where(t.c.name == name, t.c.alias == alias))
    audit.record(conn, "delete_alias", "model_alias", f"{name}@{alias}", {"version": before}, None)
    return before
