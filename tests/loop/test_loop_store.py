"""The LoopStore conformance suite, on SQLite, PostgreSQL and the live server: retrain
requests, cursor seeds, a retraining carried from start to finish by Moves (each with
its retrain record, cursors, audit rows and lineage edges), and the lease: a
compare-and-set in one transaction on each store (on the server's database for the
remote one), which racing takers cannot both win and a lost holder cannot write past."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import knot
from knot.governance.audit_query import AuditQuery
from knot.governance.fluent import governance
from knot.loop.protocol import Cursor, LineEdge, LoopStore, Move, RetrainEnd
from knot.loop.state import LeaseLost, LoopState, State
from knot.loop.stores import loop_store
from tests.backends import StoreBackend


@pytest.fixture
def loop(
    store_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> LoopStore:
    store_backend.use(monkeypatch)
    return loop_store()


def moved(
    loop: LoopStore, state: LoopState, to: State, retrain: str | None, **parts: Any
) -> LoopState:
    """Apply one Move by `me` from `state`, and read where the loop is now."""
    loop.move(
        Move(
            model="churn",
            owner="me",
            before=state.state,
            before_retrain=state.retrain_id,
            to=to,
            retrain_id=retrain,
            detail=parts.pop("detail", {}),
            **parts,
        )
    )
    new = loop.read_state("churn")
    assert new is not None and new.state is to
    return new


def test_a_request_is_filed_once_and_seeds_keep_what_is_there(loop: LoopStore) -> None:
    at = loop.request_manual("churn")
    loop.request_manual("churn")  # asking again before the loop looks files nothing new
    assert loop.read_cursors("churn") == {"manual": str(at)}
    loop.seed_cursors("churn", {"schedule": "5", "manual": "1"})
    loop.seed_cursors("churn", {"schedule": "9"})
    assert loop.read_cursors("churn") == {"manual": str(at), "schedule": "5"}
    assert loop.read_cursors("other") == {} and loop.read_state("other") is None


def test_a_retraining_moves_from_start_to_finish(loop: LoopStore) -> None:
    at = loop.request_manual("churn")
    state = loop.acquire("churn", "me", 60_000)
    assert state is not None and state.state is State.IDLE
    retrain = uuid.uuid4().hex
    run_id = uuid.uuid4().hex
    triggers = [{"kind": "manual", "requested_at": at}]
    state = moved(
        loop,
        state,
        State.TRAINING,
        retrain,
        detail={"triggers": triggers},
        start=triggers,
        advance=[Cursor(kind="manual", cursor="manual", value=str(at))],
    )
    assert state.retrain_id == retrain and state.detail == {"triggers": triggers}
    assert loop.read_cursors("churn") == {}  # the request was consumed
    (running,) = loop.list_retrains("churn")
    assert (running.status, running.trigger_kind) == ("running", "manual")
    assert running.trigger == triggers
    produced = LineEdge(
        from_kind="retrain",
        from_id=retrain,
        relation="produced",
        to_kind="model_version",
        to_id="churn/1",
    )
    state = moved(
        loop,
        state,
        State.EVALUATING,
        retrain,
        challenger_version=1,
        run_id=run_id,
        edges=[produced],
    )
    state = moved(
        loop,
        state,
        State.IDLE,
        None,
        detail={"last_retrain": retrain},
        finish=RetrainEnd(status="rejected", reason="worse than the champion"),
    )
    assert (state.retrain_id, state.owner) == (None, "me")
    (done,) = loop.list_retrains("churn")
    assert (done.status, done.reason, done.challenger_version, done.run_id) == (
        "rejected",
        "worse than the champion",
        1,
        run_id,
    )
    assert done.finished_at is not None and done.finished_at >= done.started_at
    records = governance().audit_log(AuditQuery(entity_id=retrain))
    assert [r.action for r in records] == ["loop.retrain", "loop.rejected"]
    states = governance().audit_log(AuditQuery(entity_kind="model", action="loop.state"))
    assert [(r.before["state"], r.after["state"]) for r in states] == [
        ("idle", "training"),
        ("training", "evaluating"),
        ("evaluating", "idle"),
    ]
    graph = knot.lineage("models:/churn/1", direction="up", depth=1)
    assert f"retrain:{retrain}" in {n.key for n in graph.nodes}


def test_a_lease_taken_over_stops_the_old_holder(loop: LoopStore) -> None:
    assert loop.acquire("churn", "old", 1) is not None
    time.sleep(0.01)  # the 1 ms lease runs out
    assert loop.acquire("churn", "new", 60_000) is not None
    assert loop.acquire("churn", "old", 60_000) is None
    with pytest.raises(LeaseLost, match="no longer held by old"):
        loop.heartbeat("churn", "old", 60_000)
    start = Move(
        model="churn",
        owner="old",
        before=State.IDLE,
        before_retrain=None,
        to=State.TRAINING,
        retrain_id=uuid.uuid4().hex,
        detail={"triggers": [{"kind": "manual"}]},
        start=[{"kind": "manual"}],
    )
    with pytest.raises(LeaseLost, match="cannot move the loop of 'churn' to training"):
        loop.move(start)
    assert loop.list_retrains("churn") == []  # the refused move wrote nothing
    state = loop.read_state("churn")
    assert state is not None and (state.state, state.owner) == (State.IDLE, "new")
    loop.heartbeat("churn", "new", 60_000)
    leases = governance().audit_log(AuditQuery(action="loop.lease"))
    assert [(r.before or {}).get("owner") for r in leases] == [None, "old"]
    assert [r.after["owner"] for r in leases] == ["old", "new"]
    loop.release("churn", "new")
    state = loop.read_state("churn")
    assert state is not None and state.owner is None


def test_only_one_of_many_concurrent_takers_wins(loop: LoopStore) -> None:
    won: list[str] = []
    start = threading.Barrier(6)

    def take(owner: str) -> None:
        start.wait()
        if loop.acquire("churn", owner, 60_000) is not None:
            won.append(owner)

    threads = [threading.Thread(target=take, args=(f"c{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    state = loop.read_state("churn")
    assert state is not None and state.owner == won[0]
