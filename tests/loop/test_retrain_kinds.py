"""A retraining fired by several triggers at once records every kind ("alert+dataset+
manual+schedule", 29 characters) on every store: PostgreSQL refused it while the column
held 16 (migration 0013 widened it)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from knot.loop import tables
from knot.loop.protocol import TRIGGER_KINDS, LoopStore, Move
from knot.loop.state import State
from knot.loop.stores import loop_store
from tests.backends import StoreBackend
from tests.migrations import assert_migration_builds


@pytest.fixture
def loop(
    store_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> LoopStore:
    store_backend.use(monkeypatch)
    return loop_store()


def test_a_retraining_fired_by_every_trigger_records_them_all(loop: LoopStore) -> None:
    state = loop.acquire("churn", "me", 60_000)
    assert state is not None
    fired = [{"kind": k, "seen": i} for i, k in enumerate(sorted(TRIGGER_KINDS))]
    retrain = uuid.uuid4().hex
    loop.move(
        Move(
            model="churn",
            owner="me",
            before=state.state,
            before_retrain=None,
            to=State.TRAINING,
            retrain_id=retrain,
            detail={"triggers": fired},
            start=fired,
        )
    )
    (running,) = loop.list_retrains("churn")
    assert running.retrain_id == retrain
    assert running.trigger_kind == "alert+dataset+manual+schedule"
    assert running.trigger == fired


def test_the_migrations_build_the_loop_tables(tmp_path: Path) -> None:
    assert_migration_builds(tables, tmp_path)
