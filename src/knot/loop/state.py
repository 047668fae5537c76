"""The loop's persisted state per model, the lease that guards it, and the retrain history.

A controller acts on a model only while it holds the model's lease: taking it is a
compare-and-set on the `loop_state` row (free, expired, or already ours), keeping it is a
heartbeat that pushes the expiry forward, and every state change is an UPDATE that
matches our owner and an unexpired lease, so a controller that lost its lease (it
stalled, another took over) can never write a step. A restart finds the state where the
last step left it and carries on from there.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict, KnotError
from knot.governance import audit
from knot.loop.tables import loop_retrains, loop_state
from knot.store.database import Database, database_of, now_ms

if TYPE_CHECKING:
    from knot.loop.protocol import LoopStore

__all__ = [
    "LeaseLost",
    "LoopState",
    "Retrain",
    "State",
    "acquire",
    "default_owner",
    "finish_retrain",
    "heartbeat",
    "keep_lease",
    "list_retrains",
    "loop_db",
    "read_state",
    "release",
    "start_retrain",
    "transition",
    "update_retrain",
]


class State(StrEnum):
    IDLE = "idle"
    TRAINING = "training"
    EVALUATING = "evaluating"
    CANARY = "canary"
    APPROVAL = "approval"  # a promotion request waits for a person with the approver role
    PROMOTING = "promoting"


class LoopState(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    state: State
    retrain_id: str | None
    detail: dict[str, Any]
    owner: str | None
    lease_expires_at: int
    heartbeat_at: int
    updated_at: int


class Retrain(BaseModel):
    model_config = ConfigDict(frozen=True)

    retrain_id: str
    model: str
    trigger_kind: str
    trigger: list[dict[str, Any]]
    status: str  # running, promoted, rejected, rolled_back, failed
    challenger_version: int | None
    run_id: str | None
    reason: str | None
    started_at: int
    finished_at: int | None
    owner: str


class LeaseLost(Conflict):
    """This controller no longer holds the model's lease; it must stop acting on it."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def loop_db() -> Database:
    """The metadata database of the current session, when it is a SQL store (the loop
    itself goes through knot.loop.stores.loop_store, which also speaks to a server)."""
    from knot.tracking.fluent import session

    s = session()
    return database_of(s.store, s.store_uri, "the retrain loop needs")


def _state(row: Any) -> LoopState:
    data = dict(row._mapping)
    data["detail"] = json.loads(data["detail"])
    return LoopState.model_validate(data)


def read_state(db: Database, model: str) -> LoopState | None:
    with db.read() as conn:
        row = conn.execute(select(loop_state).where(loop_state.c.model == model)).first()
    return _state(row) if row is not None else None


def acquire(db: Database, model: str, owner: str, ttl_ms: int) -> LoopState | None:
    """Take (or keep) the lease of `model`; None when another live controller holds it."""
    t = loop_state
    now = now_ms()
    try:
        with db.write() as conn:
            row = conn.execute(select(t).where(t.c.model == model)).first()
            if row is None:
                values: dict[str, Any] = {
                    "model": model,
                    "state": State.IDLE.value,
                    "retrain_id": None,
                    "owner": owner,
                    "lease_expires_at": now + ttl_ms,
                    "heartbeat_at": now,
                    "updated_at": now,
                }
                conn.execute(t.insert(), {**values, "detail": "{}"})
                audit.record(conn, "loop.lease", "model", model, None, {"owner": owner})
                return LoopState.model_validate({**values, "detail": {}})
            held = row.owner not in (None, owner) and row.lease_expires_at >= now
            if held:
                return None
            # compare-and-set on what we read: a concurrent taker changes owner or expiry
            done = conn.execute(
                t.update()
                .where(
                    t.c.model == model,
                    t.c.lease_expires_at == row.lease_expires_at,
                    t.c.owner.is_(None) if row.owner is None else t.c.owner == row.owner,
                )
                .values(owner=owner, lease_expires_at=now + ttl_ms, heartbeat_at=now)
            )
            if done.rowcount != 1:
                return None
            if row.owner != owner:
                before = {"owner": row.owner, "state": row.state}
                audit.record(conn, "loop.lease", "model", model, before, {**before, "owner": owner})
            fresh = conn.execute(select(t).where(t.c.model == model)).one()
            return _state(fresh)
    except IntegrityError:
        return None  # another controller inserted the row first: it holds the lease


def heartbeat(db: Database, model: str, owner: str, ttl_ms: int) -> None:
    """Push the lease's expiry forward; LeaseLost when it is no longer ours."""
    t = loop_state
    now = now_ms()
    with db.write() as conn:
        done = conn.execute(
            t.update()
            .where(t.c.model == model, t.c.owner == owner, t.c.lease_expires_at >= now)
            .values(lease_expires_at=now + ttl_ms, heartbeat_at=now)
        )
    if done.rowcount != 1:
        raise LeaseLost(
            f"the loop of {model!r} is no longer held by {owner}; another controller took "
            "it over after the lease expired",
            field="lease",
        )


@contextmanager
def keep_lease(store: LoopStore, model: str, owner: str, ttl_ms: int) -> Iterator[None]:
    """Heartbeat every third of the lease while the body runs (training can take longer
    than the lease). A lost lease stops the beat; the next transition then refuses."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(ttl_ms / 3000):
            try:
                store.heartbeat(model, owner, ttl_ms)
            except KnotError:
                return

    thread = threading.Thread(target=beat, name="knot-loop-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def release(db: Database, model: str, owner: str) -> None:
    t = loop_state
    with db.write() as conn:
        conn.execute(
            t.update()
            .where(t.c.model == model, t.c.owner == owner)
            .values(owner=None, lease_expires_at=0)
        )


def transition(
    conn: Connection,
    model: str,
    owner: str,
    state: State,
    *,
    retrain_id: str | None,
    detail: dict[str, Any],
) -> None:
    """Move the model's loop to `state` inside the caller's transaction, if we hold it."""
    t = loop_state
    now = now_ms()
    done = conn.execute(
        t.update()
        .where(t.c.model == model, t.c.owner == owner, t.c.lease_expires_at >= now)
        .values(
            state=state.value,
            retrain_id=retrain_id,
            detail=json.dumps(detail, sort_keys=True, default=str),
            updated_at=now,
        )
    )
    if done.rowcount != 1:
        raise LeaseLost(
            f"cannot move the loop of {model!r} to {state.value}: {owner} no longer holds its "
            "lease; the controller that does will carry on",
            field="lease",
        )


def start_retrain(
    conn: Connection,
    model: str,
    owner: str,
    triggers: list[dict[str, Any]],
    retrain_id: str | None = None,
) -> str:
    retrain_id = retrain_id or uuid.uuid4().hex
    values = {
        "retrain_id": retrain_id,
        "model": model,
        "trigger_kind": "+".join(sorted({str(t["kind"]) for t in triggers})),
        "trigger": json.dumps(triggers, sort_keys=True, default=str),
        "status": "running",
        "challenger_version": None,
        "run_id": None,
        "reason": None,
        "started_at": now_ms(),
        "finished_at": None,
        "owner": owner,
    }
    conn.execute(loop_retrains.insert(), values)
    audit.record(conn, "loop.retrain", "retrain", retrain_id, None, {**values, "trigger": triggers})
    return retrain_id


def update_retrain(conn: Connection, retrain_id: str, **values: Any) -> None:
    t = loop_retrains
    conn.execute(t.update().where(t.c.retrain_id == retrain_id).values(**values))


def finish_retrain(conn: Connection, retrain_id: str, status: str, reason: str | None) -> None:
    t = loop_retrains
    before = conn.execute(select(t.c.status).where(t.c.retrain_id == retrain_id)).scalar()
    update_retrain(conn, retrain_id, status=status, reason=reason, finished_at=now_ms())
    audit.record(
        conn,
        f"loop.{status}",
        "retrain",
        retrain_id,
        {"status": before},
        {"status": status, "reason": reason},
    )


def list_retrains(db: Database, model: str) -> list[Retrain]:
    t = loop_retrains
    with db.read() as conn:
        rows = conn.execute(select(t).where(t.c.model == model).order_by(t.c.started_at)).all()
    out = []
    for row in rows:
        data = dict(row._mapping)
        data["trigger"] = json.loads(data["trigger"])
        out.append(Retrain.model_validate(data))
    return out
