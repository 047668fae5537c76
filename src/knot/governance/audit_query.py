"""Reading the audit log: who changed what, and when, filtered the way people ask.

`since` takes an ISO date or time ("2024-05-01", "2024-05-01T12:00") or a relative
age ("30m", "12h", "7d", "2w"). `model` matches every record about a registered
model: its kind names a model and its id is the name, "name/VERSION" or "name@ALIAS".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select

from knot.errors import Invalid
from knot.governance.audit import AuditRecord
from knot.governance.tables import audit_log
from knot.store.database import now_ms

__all__ = ["AuditQuery", "parse_since", "query"]

MAX_LIMIT = 100_000
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class AuditQuery:
    """Filters for `query`; every one left as None matches everything."""

    since: str | None = None
    entity_kind: str | None = None
    entity_id: str | None = None
    model: str | None = None
    actor: str | None = None
    action: str | None = None
    limit: int = 1000


def parse_since(since: str, now: int | None = None) -> int:
    """`since` as epoch milliseconds; an ISO date without a zone is taken as UTC."""
    match = _AGE.match(since)
    if match:
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        base = datetime.fromtimestamp((now if now is not None else now_ms()) / 1000, tz=UTC)
        return int((base - timedelta(**{unit: amount})).timestamp() * 1000)
    try:
        when = datetime.fromisoformat(since.strip())
    except ValueError:
        raise Invalid(
            f"since {since!r} is neither an ISO date nor an age; use e.g. 2024-05-01, "
            "2024-05-01T12:00, 30m, 12h, 7d or 2w",
            field="since",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query(conn: Connection, filters: AuditQuery) -> list[AuditRecord]:
    """The newest `limit` records matching `filters`, oldest first."""
    if not 1 <= filters.limit <= MAX_LIMIT:
        raise Invalid(
            f"limit must be between 1 and {MAX_LIMIT}, got {filters.limit}", field="limit"
        )
    t = audit_log
    q = select(t)
    if filters.since is not None:
        q = q.where(t.c.at >= parse_since(filters.since))
    for column, value in (
        (t.c.entity_kind, filters.entity_kind),
        (t.c.entity_id, filters.entity_id),
        (t.c.actor, filters.actor),
        (t.c.action, filters.action),
    ):
        if value is not None:
            q = q.where(column == value)
    if filters.model is not None:
        name = _escape_like(filters.model)
        q = q.where(
            t.c.entity_kind.like("%model%"),
            or_(
                t.c.entity_id == filters.model,
                t.c.entity_id.like(f"{name}/%", escape="\\"),
                t.c.entity_id.like(f"{name}@%", escape="\\"),
            ),
        )
    rows = conn.execute(q.order_by(t.c.seq.desc()).limit(filters.limit)).all()
    return [_record(r._mapping) for r in reversed(rows)]


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        before=_load(row["before"]),
        after=_load(row["after"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # an edited row may hold anything; show it as it is
