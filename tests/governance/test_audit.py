"""Reading the audit log with filters, and verify naming every edited, removed or
inserted record, on every backend and through `knot audit`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from knot.cli import app
from knot.config import settings
from knot.errors import Invalid
from knot.governance import audit
from knot.governance.audit_query import AuditQuery, parse_since
from knot.governance.identity import acting_as
from knot.store.database import Database
from tests.governance.conftest import Backend

runner = CliRunner(env={"COLUMNS": "200"})  # Rich tables wide enough not to wrap


def _history(db: Database) -> None:
    """What the registry and tracking would record: seven changes by two people."""
    changes = [
        ("ana", "create", "registered_model", "churn", None, {"name": "churn"}),
        ("ana", "create", "model_version", "churn/1", None, {"version": 1}),
        ("ana", "create", "model_version", "churn/2", None, {"version": 2}),
        ("bo", "set_alias", "model_alias", "churn@champion", {"version": 1}, {"version": 2}),
        ("bo", "create", "registered_model", "churn_v2", None, {"name": "churn_v2"}),
        ("bo", "create", "model_version", "churnish/1", None, {"version": 1}),
        ("ana", "create", "run", "churn/1", None, {"status": "RUNNING"}),
    ]
    for actor, action, kind, entity, before, after in changes:
        with db.write() as conn, acting_as(actor):
            audit.record(conn, action, kind, entity, before, after)


def test_filters_select_the_records_people_ask_for(backend: Backend) -> None:
    _history(backend.db)
    log = backend.store.audit_log
    every = log(AuditQuery())
    assert [r.seq for r in every] == [1, 2, 3, 4, 5, 6, 7]
    assert every[3].before == {"version": 1} and every[3].after == {"version": 2}
    # --model: the model, its versions and aliases; not churn_v2, churnish or a run id
    assert [r.entity_id for r in log(AuditQuery(model="churn"))] == [
        "churn",
        "churn/1",
        "churn/2",
        "churn@champion",
    ]
    assert [r.entity_id for r in log(AuditQuery(model="churn_v2"))] == ["churn_v2"]
    assert [r.seq for r in log(AuditQuery(actor="bo"))] == [4, 5, 6]
    assert [r.seq for r in log(AuditQuery(action="set_alias"))] == [4]
    assert [r.seq for r in log(AuditQuery(entity_kind="model_version", entity_id="churn/2"))] == [3]
    assert [r.seq for r in log(AuditQuery(limit=2))] == [6, 7]  # the newest, oldest first
    assert len(log(AuditQuery(since="2000-01-01"))) == 7
    assert len(log(AuditQuery(since="1h"))) == 7
    assert log(AuditQuery(since="2999-01-01T00:00")) == []


def test_bad_filters_are_refused_with_the_fix(backend: Backend) -> None:
    with pytest.raises(Invalid, match=r"since 'last week'.*7d") as caught:
        backend.store.audit_log(AuditQuery(since="last week"))
    assert caught.value.field == "since"
    with pytest.raises(Invalid, match="limit"):
        backend.store.audit_log(AuditQuery(limit=0))


def test_since_reads_ages_and_iso_dates() -> None:
    now = int(datetime(2024, 5, 8, 12, tzinfo=UTC).timestamp() * 1000)
    assert parse_since("7d", now) == int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp() * 1000)
    assert parse_since("90m", now) == now - 90 * 60_000
    assert parse_since("2w", now) == now - 14 * 86_400_000
    assert parse_since("2024-05-01") == int(datetime(2024, 5, 1, tzinfo=UTC).timestamp() * 1000)
    assert parse_since("2024-05-01T02:00+02:00") == parse_since("2024-05-01")


def test_verify_names_an_edited_and_a_removed_row(backend: Backend) -> None:
    _history(backend.db)
    assert backend.store.verify_audit() == []
    with backend.db.write() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    breaks = backend.store.verify_audit()
    assert [(b.seq, b.kind) for b in breaks] == [(2, "edited"), (6, "removed"), (6, "removed")]
    assert "rows 5..5 are missing" in breaks[1].reason


def test_verify_names_removed_newest_rows_and_inserted_ones(backend: Backend) -> None:
    _history(backend.db)
    with backend.db.write() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 6"))
    breaks = backend.store.verify_audit()
    assert [(b.seq, b.kind) for b in breaks] == [(6, "removed")]
    assert "rows 6..7 are missing" in breaks[0].reason
    # the next change still chains onto the newest row Knot wrote, so the gap stays visible
    with backend.db.write() as conn:
        audit.record(conn, "create", "run", "r", None, {})
    assert [(b.seq, b.kind) for b in backend.store.verify_audit()] == [(8, "removed")] * 2


def test_verify_names_a_row_added_behind_knots_back(backend: Backend) -> None:
    _history(backend.db)
    with backend.db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, entity_kind, entity_id, "
                "before, after, prev_hash, hash) SELECT 8, at, actor, action, entity_kind, "
                "entity_id, before, after, hash, hash FROM audit_log WHERE seq = 7"
            )
        )
    breaks = backend.store.verify_audit()
    assert (8, "edited") in [(b.seq, b.kind) for b in breaks]
    assert (8, "inserted") in [(b.seq, b.kind) for b in breaks]
    # a change made afterwards is not blocked by the forged row's seq
    with backend.db.write() as conn:
        audit.record(conn, "create", "run", "r", None, {})
    assert backend.store.audit_log(AuditQuery(limit=1))[0].seq == 9


def test_a_rewritten_row_with_a_recomputed_hash_is_named(backend: Backend) -> None:
    _history(backend.db)
    with backend.db.read() as conn:
        row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 3")).one()
    forged = audit._digest(
        row.prev_hash, 3, row.at, "mallory", row.action, row.entity_kind, row.entity_id,
        row.before, row.after,
    )  # fmt: skip
    with backend.db.write() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 3"), {"h": forged}
        )
    breaks = backend.store.verify_audit()
    assert [(b.seq, b.kind) for b in breaks] == [(3, "inserted")]
    assert "row 4 does not link to it" in breaks[0].reason


@pytest.fixture
def history(knot_home: Path) -> Iterator[Database]:
    db = Database(settings().store_uri)
    _history(db)
    yield db
    db.close()


def test_cli_audit_log_table_and_json(history: Database) -> None:
    out = runner.invoke(app, ["audit", "log", "--model", "churn", "--since", "7d"])
    assert out.exit_code == 0, out.output
    assert "churn@champion" in out.output and "version: 1 -> 2" in out.output
    assert "churnish" not in out.output
    data = json.loads(runner.invoke(app, ["audit", "log", "--actor", "bo", "--json"]).output)
    assert [r["seq"] for r in data] == [4, 5, 6] and data[0]["actor"] == "bo"
    bad = runner.invoke(app, ["audit", "log", "--since", "yesterday"])
    assert bad.exit_code != 0


def test_cli_audit_verify_exits_non_zero_naming_each_broken_row(history: Database) -> None:
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    with history.write() as conn:
        conn.execute(text("UPDATE audit_log SET after = '{}' WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 7"))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "edited" in broken.output and "removed" in broken.output
    assert "rows 7..7 are missing" in broken.output
    data = json.loads(runner.invoke(app, ["audit", "verify", "--json"]).stdout)
    assert data["intact"] is False
    assert [(b["seq"], b["kind"]) for b in data["breaks"]] == [(2, "edited"), (7, "removed")]
