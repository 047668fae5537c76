"""Anchors: the audit log's head, written outside the database, so what a database
writer removes or rebuilds is seen (knot.governance.audit explains what is detected).

`knot audit anchor` appends one JSON line per anchor (the record's seq and hash, when
it was written, when it was anchored), signed with the audit key, to the store's
anchors file, fsync'd:
    KNOT_AUDIT_ANCHORS   the file, else KNOT_HOME/anchors/<store id>.jsonl
where the store id is derived from the store URI (its password left out), so each
store has its own file. It refuses to anchor a log that does not verify. `verify`
then checks that every anchor is still a prefix of the chain: the record at each
anchored seq exists and has the anchored hash. Records after the newest anchor are
reported as not anchored yet.

Nothing anchors by itself: run `knot audit anchor` from cron on the machine that holds
the key and the anchors (the server's, with KNOT_STORE naming its database), e.g.
every 15 minutes; records removed from the end since the newest anchor are the part
it cannot see. Keep the anchors file where the database's writers cannot write.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knot.artifacts._atomic import fsync_dir
from knot.errors import Conflict, Invalid
from knot.governance import audit
from knot.governance.audit import GENESIS, ChainBreak
from knot.governance.audit_key import KEY_FILE_ENV, AuditKey, create_key, key_path, load_key
from knot.governance.tables import audit_log
from knot.store.database import now_ms

__all__ = ["ANCHORS_ENV", "Anchor", "AnchorStatus", "anchor", "anchors_path", "status", "verify"]

ANCHORS_ENV = "KNOT_AUDIT_ANCHORS"


@dataclass(frozen=True)
class Anchor:
    """The head of one store's audit log at one moment: record `seq` had `hash`."""

    store: str
    seq: int
    hash: str
    record_at: int | None
    anchored_at: int


@dataclass(frozen=True)
class AnchorStatus:
    """How much of the log the anchors cover: records 1..anchored_seq were anchored,
    the newest at `anchored_at`; records anchored_seq+1..last_seq are not yet."""

    file: str
    anchors: int
    anchored_seq: int | None
    anchored_at: int | None
    last_seq: int


def store_name(uri: str) -> str:
    """The store URI as anchors name it: no password, a SQLite path made absolute."""
    try:
        url = make_url(uri)
    except ArgumentError:
        return uri
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(url.database or "").resolve()))
    # set(password=None) keeps the password: None there means "unchanged"
    return url._replace(password=None).render_as_string(hide_password=False)


def anchors_path(uri: str) -> Path:
    """KNOT_AUDIT_ANCHORS, else KNOT_HOME/anchors/<store id>.jsonl."""
    from knot.config import settings

    named = os.environ.get(ANCHORS_ENV)
    if named:
        return Path(named).expanduser()
    store_id = hashlib.sha256(store_name(uri).encode()).hexdigest()[:16]
    return settings().home / "anchors" / f"{store_id}.jsonl"


def _mac(key: AuditKey, anchor: Anchor) -> str:
    return key.seal(json.dumps(asdict(anchor), sort_keys=True, separators=(",", ":")).encode())


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def read_anchors(uri: str) -> tuple[list[Anchor], list[ChainBreak]]:
    """The store's anchors, oldest first, and a break for every line that is not a
    signed anchor of this store."""
    path = anchors_path(uri)
    if not path.is_file():
        return [], []
    key = load_key()
    if key is None:
        raise Invalid(
            f"the anchors in {path} are signed with the audit key, which is not here "
            f"({key_path()}); set {KEY_FILE_ENV} (or KNOT_AUDIT_KEY) to the key that wrote "
            "them",
            field=KEY_FILE_ENV,
        )
    anchors: list[Anchor] = []
    breaks: list[ChainBreak] = []
    name = store_name(uri)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            mac = doc.pop("mac")
            found = Anchor(**doc)
        except (ValueError, TypeError, KeyError, AttributeError):
            why = f"line {number} of {path} is not an anchor: the anchors file was edited"
            breaks.append(ChainBreak(0, why, "anchor"))
            continue
        if not hmac.compare_digest(str(mac), _mac(key, found)):
            why = (
                f"line {number} of {path} is not signed with the audit key ({key.source}): "
                "the anchors file was edited, or the key is not the one that wrote it"
            )
            breaks.append(ChainBreak(found.seq, why, "anchor"))
        elif found.store != name:
            why = f"line {number} of {path} anchors another store, {found.store}"
            breaks.append(ChainBreak(found.seq, why, "anchor"))
        else:
            anchors.append(found)
    return anchors, breaks


def _check(conn: Connection, anchors: list[Anchor]) -> list[ChainBreak]:
    t = audit_log
    wanted = sorted({a.seq for a in anchors if a.seq > 0})
    hashes: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        query = select(t.c.seq, t.c.hash).where(t.c.seq.in_(wanted[start : start + 500]))
        hashes.update({r.seq: r.hash for r in conn.execute(query)})
    rows = conn.execute(select(func.count()).select_from(t)).scalar() or 0
    if rows == 0 and wanted:
        newest = max(anchors, key=lambda a: a.seq)
        why = (
            f"the audit log is empty, yet records up to {newest.seq} were anchored (the "
            f"newest anchor at {_when(newest.anchored_at)}): every record was deleted"
        )
        return [ChainBreak(newest.seq, why, "removed")]
    last = conn.execute(select(func.max(t.c.seq))).scalar() or 0
    breaks = []
    for a in anchors:
        if a.seq == 0:
            continue
        found = hashes.get(a.seq)
        when = _when(a.anchored_at)
        if found is None:
            why = (
                f"record {a.seq} was anchored at {when} but is gone (the log now ends at "
                f"record {last}): records were deleted"
            )
            breaks.append(ChainBreak(a.seq, why, "removed"))
        elif found != a.hash:
            why = (
                f"record {a.seq} is not the one anchored at {when} (hash {a.hash[:12]}…, now "
                f"{found[:12]}…): it was replaced"
            )
            breaks.append(ChainBreak(a.seq, why, "replaced"))
    return breaks


def verify(conn: Connection, uri: str) -> list[ChainBreak]:
    """The chain, the seals and the anchors of the store at `uri`: every break."""
    anchors, breaks = read_anchors(uri)
    first = min((a.seq for a in anchors), default=None)
    breaks = audit.verify(conn, sealed_after=first) + breaks
    return breaks + _check(conn, anchors)


def _head(conn: Connection) -> tuple[int, str, int | None]:
    t = audit_log
    row = conn.execute(select(t.c.seq, t.c.hash, t.c.at).order_by(t.c.seq.desc()).limit(1))
    last = row.first()
    return (last.seq, last.hash, last.at) if last is not None else (0, GENESIS, None)


def status(conn: Connection, uri: str) -> AnchorStatus:
    anchors, _ = read_anchors(uri)
    newest = max(anchors, key=lambda a: (a.seq, a.anchored_at), default=None)
    return AnchorStatus(
        file=str(anchors_path(uri)),
        anchors=len(anchors),
        anchored_seq=newest.seq if newest else None,
        anchored_at=newest.anchored_at if newest else None,
        last_seq=_head(conn)[0],
    )


def anchor(conn: Connection, uri: str) -> Anchor:
    """Verify the log, then append its head to the anchors file (creating the audit key
    on first use); Conflict naming the breaks if the log does not verify."""
    breaks = verify(conn, uri)
    if breaks:
        shown = "; ".join(f"record {b.seq} {b.kind}: {b.reason}" for b in breaks[:5])
        raise Conflict(
            f"the audit log does not verify, so it was not anchored: {shown}. "
            "`knot audit verify` lists every break",
            field="audit",
        )
    key = create_key()
    seq, digest, record_at = _head(conn)
    found = Anchor(store_name(uri), seq, digest, record_at, now_ms())
    line = json.dumps({**asdict(found), "mac": _mac(key, found)}, sort_keys=True) + "\n"
    path = anchors_path(uri)
    created = not path.exists()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)
    return found
