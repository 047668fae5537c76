"""A batch delivered twice is written once.

The SDK's writer numbers its batches 1, 2, 3, ... and delivers them in order, from its
retry loop or from its spool (knot.tracking.buffer.spool). A delivery can succeed on the server
while its answer is lost (a timeout, a server killed right after the commit), so the
client sends the batch again. The store keeps, per writer, the highest number it has
written, in the same transaction as the batch: a number not above it is a replay, and
is skipped whole.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from knot.store.database import now_ms
from knot.store.prepared import Prepared
from knot.tracking.tables import writer_marks

__all__ = ["first_delivery"]


def first_delivery(conn: Connection, writer_id: str, seq: int) -> bool:
    """Record batch `seq` of `writer_id` as written, inside the caller's transaction;
    False when it (or a later batch of that writer) was written before."""
    at = now_ms()
    # The conditional UPDATE locks the writer's row, so two deliveries of one batch in
    # flight at once (a slow original and its retry) are serialized and only one wins.
    if _MOVE.run(conn, {"wid": writer_id, "new_seq": seq, "at": at}):
        return True
    row = {"writer_id": writer_id, "seq": seq, "updated_at": at}
    if conn.dialect.name == "postgresql":
        # psycopg reports no row count for ON CONFLICT DO NOTHING: ask for the new row
        return conn.execute(_PG_CREATE, row).first() is not None
    return bool(_SQLITE_CREATE.run(conn, row))


# Built once: on the logging hot path, building a statement costs more than running it.
_MOVE = Prepared(
    update(writer_marks)
    .where(writer_marks.c.writer_id == bindparam("wid"), writer_marks.c.seq < bindparam("new_seq"))
    .values(seq=bindparam("new_seq"), updated_at=bindparam("at"))
)
_PG_CREATE = postgresql.insert(writer_marks).on_conflict_do_nothing().returning(writer_marks.c.seq)
_SQLITE_CREATE = Prepared(sqlite.insert(writer_marks).on_conflict_do_nothing())
