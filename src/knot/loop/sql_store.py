"""SqlLoopStore: the loop's state, lease, cursors and retrain history in the metadata
database (the functions of knot.loop.state and knot.loop.triggers), each call one
transaction. A Knot server serves the loop routes with this class."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict
from knot.governance import audit
from knot.governance.lineage import Edge, add_edges
from knot.loop import state as sql
from knot.loop import triggers
from knot.loop.protocol import Move
from knot.loop.state import LoopState, Retrain
from knot.loop.tables import loop_state
from knot.store.database import Database

__all__ = ["SqlLoopStore"]


class SqlLoopStore:
    """The LoopStore on `db` (shared with the session's tracking store; not closed here)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def read_state(self, model: str) -> LoopState | None:
        return sql.read_state(self.db, model)

    def acquire(self, model: str, owner: str, ttl_ms: int) -> LoopState | None:
        return sql.acquire(self.db, model, owner, ttl_ms)

    def heartbeat(self, model: str, owner: str, ttl_ms: int) -> None:
        sql.heartbeat(self.db, model, owner, ttl_ms)

    def release(self, model: str, owner: str) -> None:
        sql.release(self.db, model, owner)

    def move(self, move: Move) -> None:
        try:
            self._move(move)
        except IntegrityError:
            raise Conflict(
                f"retraining {move.retrain_id} of {move.model!r} already exists; a new "
                "retraining needs a new id",
                field="retrain_id",
            ) from None

    def _move(self, m: Move) -> None:
        with self.db.write() as conn:
            _check_before(conn, m)
            if m.start is not None:
                sql.start_retrain(conn, m.model, m.owner, m.start, m.retrain_id)
            if m.finish is not None and m.before_retrain is not None:
                sql.finish_retrain(conn, m.before_retrain, m.finish.status, m.finish.reason)
            # raises LeaseLost unless the mover holds the lease: the transaction rolls back
            sql.transition(conn, m.model, m.owner, m.to, retrain_id=m.retrain_id, detail=m.detail)
            audit.record(
                conn,
                "loop.state",
                "model",
                m.model,
                {"state": m.before.value, "retrain_id": m.before_retrain},
                {"state": m.to.value, "retrain_id": m.retrain_id or m.before_retrain},
            )
            update = {"challenger_version": m.challenger_version, "run_id": m.run_id}
            update = {k: v for k, v in update.items() if v is not None}
            if update and m.retrain_id is not None:
                sql.update_retrain(conn, m.retrain_id, **update)
            fired = [triggers.Fired(c.kind, c.cursor, c.value) for c in m.advance]
            triggers.advance(conn, m.model, fired)
            add_edges(conn, [Edge(**e.model_dump()) for e in m.edges])

    def list_retrains(self, model: str) -> list[Retrain]:
        return sql.list_retrains(self.db, model)

    def read_cursors(self, model: str) -> dict[str, str]:
        with self.db.read() as conn:
            return triggers.read_cursors(conn, model)

    def seed_cursors(self, model: str, seeds: dict[str, str]) -> None:
        triggers.seed_cursors(self.db, model, seeds)

    def request_manual(self, model: str) -> int:
        return triggers.request_manual(self.db, model)

    def close(self) -> None:
        """Nothing to close: the database belongs to the session's tracking store."""


def _check_before(conn: Connection, m: Move) -> None:
    """Refuse a move from a state the loop is not in (the mover read it long ago, or
    made it up): the lease says who may move, this says from where."""
    t = loop_state
    row = conn.execute(select(t.c.state, t.c.retrain_id).where(t.c.model == m.model)).first()
    if row is None:
        return  # no loop yet: transition refuses (nobody holds its lease)
    if (row.state, row.retrain_id) != (m.before.value, m.before_retrain):
        raise Conflict(
            f"the loop of {m.model!r} is {row.state} (retraining {row.retrain_id}), not "
            f"{m.before.value} (retraining {m.before_retrain}); read its state again",
            field="before",
        )
