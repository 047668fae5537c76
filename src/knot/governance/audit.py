"""The audit log: one append-only table, each row chained to the previous by its hash.

`record(conn, ...)` is called by every area inside the transaction that makes the
change, so a change and its audit row commit together or not at all. Each row's
hash covers its own content and the previous row's hash, and the audit_head row keeps
the newest (seq, hash); `verify` walks the chain and names every row that was edited,
inserted or removed, the newest ones included.

Against someone who can write the database, two things kept outside it:

- The audit key (knot.governance.audit_key). Once one exists, each row's hash is an
  HMAC-SHA256 under it (a seal) instead of a plain sha256. A row written straight into
  the database carries a hash its writer could compute without the key, so `verify`
  names it ("forged"), even when it was appended at the end with audit_head moved.
  Rows written before the key existed stay plain; they are accepted only as the start
  of the log, before the first sealed row and before the first anchor.
- Anchors (knot.governance.audit_anchor): `knot audit anchor` appends the head
  (seq, hash, time), signed with the key, to a file outside the database. `verify`
  then names anchored records that are gone or replaced: a tail cut off ("removed"),
  every record deleted, or the log rebuilt from scratch.

What is not detected: anything done by someone who holds the key (they can write
sealed rows and sign anchors); records removed from the end after the newest anchor
(run `knot audit anchor` often, e.g. from cron: that window is what it leaves open);
deletion of the anchors file itself (keep it where the database's writers cannot
write); and, while no key exists, rows appended with a plain sha256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text

from knot.governance.audit_key import AuditKey, load_key
from knot.governance.identity import current_actor
from knot.governance.tables import audit_head, audit_log
from knot.store.database import now_ms
from knot.store.prepared import Prepared

__all__ = ["AuditRecord", "ChainBreak", "Entry", "record", "record_many", "verify"]

GENESIS = "0" * 64
# Built once: statement construction costs more than execution on this hot path.
_INSERT = Prepared(audit_log.insert())
_LAST_SEQ = select(func.max(audit_log.c.seq))
_CHAIN_STATE = Prepared(
    select(
        _LAST_SEQ.scalar_subquery().label("last"),
        select(audit_head.c.seq).scalar_subquery().label("head_seq"),
        select(audit_head.c.hash).scalar_subquery().label("head_hash"),
    )
)
_MOVE_HEAD = Prepared(
    audit_head.update().values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


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
    """One broken place in the chain: the row's seq, what is wrong, and its kind:
    "edited", "removed", "inserted", "forged" (not sealed with the audit key),
    "replaced" (not the record an anchor names) or "anchor" (the anchors file)."""

    seq: int
    reason: str
    kind: str = "edited"


def _body(
    prev: str,
    seq: int,
    at: int,
    actor: str,
    action: str,
    kind: str,
    entity: str,
    before: str,
    after: str,
) -> bytes:
    body = json.dumps(
        [prev, seq, at, actor, action, kind, entity, before, after], separators=(",", ":")
    )
    return body.encode()


def _digest(*fields: Any) -> str:
    """The plain sha256 of a row: what rows written without an audit key carry, and
    what anyone who can write the database can compute."""
    return hashlib.sha256(_body(*fields)).hexdigest()


def _hash(key: AuditKey | None, *fields: Any) -> str:
    body = _body(*fields)
    return key.seal(body) if key is not None else hashlib.sha256(body).hexdigest()


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _lock_tail(conn: Connection) -> None:
    # Two writers must not both chain onto the same tail row. SQLite write transactions
    # are already serialised (BEGIN IMMEDIATE); PostgreSQL takes a transaction lock.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))


Entry = tuple[str, str, str, Any, Any]  # (action, entity kind, entity id, before, after)


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
    record_many(conn, [(action, entity_kind, entity_id, before, after)], actor)


def record_many(conn: Connection, entries: list[Entry], actor: str | None = None) -> None:
    """Append audit rows in order, chained one onto the next, in the caller's transaction.

    The rows are the ones `record` would write one by one; writing them together reads
    the chain's head once and inserts them in one statement (a short run's start and end
    are two rows, and this is on the logging hot path).
    """
    if not entries:
        return
    _lock_tail(conn)
    # One statement for the head and the last seq (this is on the logging hot path).
    # A row added behind Knot's back must not make the real change fail on its seq;
    # verify names that row, and this one still chains onto the head Knot wrote.
    last, head_seq, head_hash = _CHAIN_STATE.first(conn) or (None, None, None)
    has_head = head_hash is not None
    seq = max(last or 0, head_seq if has_head else 0)
    prev = head_hash if has_head else GENESIS
    at = now_ms()
    who = actor or current_actor()
    key = load_key()
    rows = []
    for action, entity_kind, entity_id, before, after in entries:
        seq += 1
        b, a = _dump(before), _dump(after)
        digest = _hash(key, prev, seq, at, who, action, entity_kind, entity_id, b, a)
        rows.append(
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
                "hash": digest,
            }
        )
        prev = digest
    _INSERT.run(conn, rows)
    if not has_head:
        conn.execute(audit_head.insert(), {"id": 1, "seq": seq, "hash": prev})
    else:
        _MOVE_HEAD.run(conn, {"new_seq": seq, "new_hash": prev})


def verify(conn: Connection, sealed_after: int | None = None) -> list[ChainBreak]:
    """Every place the chain is broken; an empty list means the log is intact. Rows are
    checked against the configured audit key; with `sealed_after` (the first anchor's
    seq) every row after it must be sealed."""
    key = load_key()
    breaks: list[ChainBreak] = []
    prev, expected_seq, prev_edited, sealed = GENESIS, 1, False, False
    for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
        gap = r.seq != expected_seq
        if gap:
            missing = f"rows {expected_seq}..{r.seq - 1} are missing"
            breaks.append(ChainBreak(r.seq, missing, "removed"))
        if r.prev_hash != prev:
            if gap:
                reason = "its link to the previous row does not match"
                breaks.append(ChainBreak(r.seq, reason, "removed"))
            elif r.seq == 1:
                breaks.append(ChainBreak(1, "it does not start the chain", "inserted"))
            elif not prev_edited:
                # the row before hashes correctly, yet this one does not follow it: the row
                # before was put in place with a recomputed hash
                reason = f"row {r.seq} does not link to it: it was inserted or rewritten"
                breaks.append(ChainBreak(r.seq - 1, reason, "inserted"))
        fields = (r.prev_hash, r.seq, r.at, r.actor, r.action, r.entity_kind, r.entity_id,
                  r.before, r.after)  # fmt: skip
        found = _check_row(r.hash, key, fields, sealed or _after(r.seq, sealed_after))
        sealed = sealed or found == "sealed"
        prev_edited = found not in ("sealed", "plain")
        if prev_edited:
            breaks.append(ChainBreak(r.seq, *_ROW_BREAKS[found]))
        prev, expected_seq = r.hash, r.seq + 1
    breaks.extend(_check_head(conn, expected_seq - 1, prev, prev_edited))
    return breaks


def _after(seq: int, sealed_after: int | None) -> bool:
    return sealed_after is not None and seq > sealed_after


def _check_row(stored: str, key: AuditKey | None, fields: tuple[Any, ...], must_seal: bool) -> str:
    """ "sealed", "plain" (allowed here), "forged" (plain where a seal is due), "edited"
    or "unkeyed" (matches nothing, and there is no key to check a seal with)."""
    if key is not None and stored == _hash(key, *fields):
        return "sealed"
    if stored == _digest(*fields):
        return "forged" if key is not None and must_seal else "plain"
    return "edited" if key is not None else "unkeyed"


_ROW_BREAKS = {
    "forged": (
        "it is not sealed with the audit key, as every record after the first sealed one "
        "(or the first anchor) is: it was written straight into the database, or by a "
        "Knot process without the key (give every writer the same key)",
        "forged",
    ),
    "edited": (
        "its content was changed after it was written (or it was sealed with another "
        "audit key than this one)",
        "edited",
    ),
    "unkeyed": (
        "its content was changed after it was written (or it was sealed with an audit "
        "key, which is not configured here: set KNOT_AUDIT_KEY_FILE to the writers' key)",
        "edited",
    ),
}


def _check_head(
    conn: Connection, last_seq: int, last_hash: str, last_edited: bool
) -> list[ChainBreak]:
    """Compare the newest row with the head pointer written beside every record."""
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    if head is None:
        if last_seq == 0:
            return []
        return [ChainBreak(last_seq, "the chain head was deleted", "removed")]
    if head.seq > last_seq:
        reason = f"rows {last_seq + 1}..{head.seq} are missing (the newest records)"
        return [ChainBreak(last_seq + 1, reason, "removed")]
    if head.seq < last_seq:
        reason = f"rows {head.seq + 1}..{last_seq} were added after the newest record Knot wrote"
        return [ChainBreak(head.seq + 1, reason, "inserted")]
    if head.hash != last_hash and not last_edited:
        return [ChainBreak(last_seq, "it is not the newest record Knot wrote", "inserted")]
    return []
