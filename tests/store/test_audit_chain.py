"""Tracking changes land in the hash-chained audit log, in the same transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from knot.errors import Conflict
from knot.governance import audit
from knot.governance.tables import audit_log
from knot.store.database import Database
from knot.tracking.entities import Batch, RunStatus
from knot.tracking.sql_store import SqlTrackingStore


def test_tracking_changes_are_audited_and_tampering_is_named(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    store = SqlTrackingStore(uri)
    exp = store.create_experiment("audited")
    run = store.create_run(exp.experiment_id, user="ana")
    store.log_batch(
        Batch(metrics=[(run.run_id, "m", 1.0, 0, 1)], ends=[(run.run_id, "FINISHED", 9)])
    )
    store.set_run_status(run.run_id, RunStatus.FAILED)
    db = Database(uri)
    with db.read() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
        assert [(r.action, r.entity_kind) for r in rows] == [
            ("create", "experiment"),
            ("create", "run"),
            ("set_status", "run"),
            ("set_status", "run"),
        ]
        assert '"FINISHED"' in rows[3].before and '"FAILED"' in rows[3].after
        assert audit.verify(conn) == []
    with db.write() as conn:
        conn.execute(text("UPDATE audit_log SET after = '{}' WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    with db.read() as conn:
        breaks = audit.verify(conn)
    assert [(b.seq, b.reason.split()[0]) for b in breaks] == [(2, "its"), (4, "rows"), (4, "its")]
    assert "changed" in breaks[0].reason and "missing" in breaks[1].reason
    store.close()
    db.close()


def test_a_refused_change_leaves_no_audit_row(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    store = SqlTrackingStore(uri)
    store.create_experiment("once")
    with pytest.raises(Conflict):
        store.create_experiment("once")
    with store.db.read() as conn:
        assert conn.execute(select(audit_log.c.seq)).all() == [(1,)]
    store.close()
