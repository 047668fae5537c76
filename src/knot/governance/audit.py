"""The audit log: one append-only table, each row chained to the previous by sha256.

`record(conn, ...)` is called by every area inside the transaction that makes the
change, so a change and its audit row commit together or not at all. Each row's
hash covers its own content and the previous row's hash; `verify` walks the chain
and names the first row that was edited, inserted or removed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, text

from knot.governance.identity import current_actor
from knot.store.database import now_ms
from knot.store.tables import audit_log

__all__ = ["AuditRecord", "ChainBreak", "record", "verify"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: int
    actor: str
    action: str
    entity_kind: str
    entity_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def _digest(
    prev: str,
    seq: int,
    at: int,
    actor: str,
    action: str,
    kind: str,
    entity: str,
    before: str,
    after: str,
) -> str:
    body = json.dumps(
        [prev, seq, at, actor, action, kind, entity, before, after], separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _lock_tail(conn: Connection) -> None:
    # Two writers must not both chain onto the same tail row. SQLite write transactions
    # are already serialised (BEGIN IMMEDIATE); PostgreSQL takes a transaction lock.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))


def record(
    conn: Connection,
    action: str,
    entity_kind: str,
    entity_id: str,
    before: Any = None,
    after: Any = None,
    actor: str | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    _lock_tail(conn)
    t = audit_log
    tail = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq = (tail.seq + 1) if tail else 1
    prev = tail.hash if tail else GENESIS
    at = now_ms()
    who = actor or current_actor()
    b, a = _dump(before), _dump(after)
    conn.execute(
        t.insert(),
        {
            "seq": seq,
            "at": at,
            "actor": who,
            "action": action,
            "entity_kind": entity_kind,
            "entity_id": entity_id,
            "before": b,
            "after": a,
            "prev_hash": prev,
            "hash": _digest(prev, seq, at, who, action, entity_kind, entity_id, b, a),
        },
    )


def verify(conn: Connection) -> list[ChainBreak]:
    """Every place the chain is broken; an empty list means the log is intact."""
    breaks: list[ChainBreak] = []
    prev, expected_seq = GENESIS, 1
    for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
        if r.seq != expected_seq:
            breaks.append(ChainBreak(r.seq, f"rows {expected_seq}..{r.seq - 1} are missing"))
        if r.prev_hash != prev:
            breaks.append(ChainBreak(r.seq, "its link to the previous row does not match"))
        digest = _digest(
            r.prev_hash,
            r.seq,
            r.at,
            r.actor,
            r.action,
            r.entity_kind,
            r.entity_id,
            r.before,
            r.after,
        )
        if digest != r.hash:
            breaks.append(ChainBreak(r.seq, "its content was changed after it was written"))
        prev, expected_seq = r.hash, r.seq + 1
    return breaks
