"""Reading registry rows inside a caller's transaction: models, versions, their aliases,
and the NotFound errors that list what does exist.

Every change to a model first locks its registered_models row (`lock_model`), so on
PostgreSQL concurrent changes to one model queue up, as they do on SQLite, whose write
transactions are serialised already (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select

from knot.errors import NotFound
from knot.registry.entities import (
    Environment,
    ModelVersion,
    RegisteredModel,
    Signature,
    VersionStatus,
)
from knot.registry.tables import model_aliases, model_versions, registered_models

__all__ = [
    "aliases_of",
    "get_model",
    "latest_version",
    "listing",
    "lock_model",
    "model_entity",
    "version_entity",
    "version_row",
]

_SHOWN = 20


def listing(items: Sequence[object]) -> str:
    """`a, b, c` (and at most 20, then how many more)."""
    shown = ", ".join(str(i) for i in items[:_SHOWN])
    more = len(items) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _model_not_found(conn: Connection, name: str) -> NotFound:
    names = conn.execute(select(registered_models.c.name).order_by("name")).scalars().all()
    known = f"registered models: {listing(names)}" if names else "no model is registered yet"
    return NotFound(
        f"model {name!r} not found; {known} (register one with knot.log_model(..., "
        "registered_model_name=...))",
        field="name",
    )


def get_model(conn: Connection, name: str) -> Row[Any]:
    row = conn.execute(select(registered_models).where(registered_models.c.name == name)).first()
    if row is None:
        raise _model_not_found(conn, name)
    return row


def lock_model(conn: Connection, name: str) -> Row[Any]:
    """The model's row, locked until the transaction ends; NotFound lists the models."""
    query = select(registered_models).where(registered_models.c.name == name).with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise _model_not_found(conn, name)
    return row


def aliases_of(conn: Connection, name: str) -> dict[str, int]:
    t = model_aliases
    rows = conn.execute(select(t.c.alias, t.c.version).where(t.c.name == name).order_by(t.c.alias))
    return {r.alias: r.version for r in rows}


def latest_version(conn: Connection, name: str) -> int | None:
    t = model_versions
    query = select(func.max(t.c.version)).where(
        t.c.name == name, t.c.status == VersionStatus.READY.value
    )
    value = conn.execute(query).scalar()
    return int(value) if value is not None else None


def version_row(conn: Connection, name: str, version: int) -> Row[Any]:
    """One version's row; NotFound lists the model's versions (or the models)."""
    t = model_versions
    row = conn.execute(select(t).where(t.c.name == name, t.c.version == version)).first()
    if row is not None:
        return row
    get_model(conn, name)
    versions = conn.execute(
        select(t.c.version).where(t.c.name == name).order_by(t.c.version)
    ).scalars()
    numbers = list(versions)
    known = f"its versions: {listing(numbers)}" if numbers else "it has no versions yet"
    raise NotFound(f"model {name!r} has no version {version}; {known}", field="version")


def model_entity(conn: Connection, row: Row[Any]) -> RegisteredModel:
    return RegisteredModel(
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        latest_version=latest_version(conn, row.name),
        aliases=aliases_of(conn, row.name),
    )


def version_entity(row: Row[Any], aliases: dict[str, int]) -> ModelVersion:
    """A version from its row; `aliases` are the model's (alias -> version)."""
    signature = json.loads(row.signature) if row.signature else None
    return ModelVersion(
        name=row.name,
        version=row.version,
        run_id=row.run_id,
        artifact_path=row.artifact_path,
        artifact_digest=row.artifact_digest,
        flavor=row.flavor,
        signature=Signature.model_validate(signature) if signature else None,
        environment=Environment.model_validate_json(row.environment),
        datasets=json.loads(row.datasets),
        status=VersionStatus(row.status),
        description=row.description,
        intended_use=row.intended_use,
        limitations=row.limitations,
        created_at=row.created_at,
        created_by=row.created_by,
        aliases=sorted(a for a, v in aliases.items() if v == row.version),
        fast_load_digest=row.fast_load_digest,
    )
