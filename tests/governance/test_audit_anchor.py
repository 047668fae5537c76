"""Forgery by someone who can write the database but holds neither the audit key nor the
anchors file: a correctly hashed row appended with audit_head moved, the tail cut off,
every record deleted. The installed `knot audit verify` exits 1 naming each, and 0 on
an honest store; `knot audit anchor` creates the key and signs what it appends."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from knot.config import settings
from knot.errors import Conflict, Invalid
from knot.governance import audit, audit_anchor
from knot.governance.audit_key import create_key, key_path, load_key
from knot.governance.identity import acting_as
from knot.governance.sql_store import SqlGovernance
from knot.store.database import Database
from tests.governance.conftest import Backend
from tests.governance.test_audit import _history

KNOT = str(Path(sys.executable).parent / "knot")


def knot_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # Rich tables wide enough not to wrap
    return subprocess.run([KNOT, *args], capture_output=True, text=True, env=env)


@pytest.fixture
def store(knot_home: Path) -> Iterator[Path]:
    """A store in a fresh KNOT_HOME with seven audited changes; yields its file."""
    db = Database(settings().store_uri)
    _history(db)
    db.close()
    yield knot_home / "knot.db"


def write(count: int) -> None:
    """`count` more honest changes, as Knot makes them."""
    db = Database(settings().store_uri)
    for i in range(count):
        with db.write() as conn, acting_as("ana"):
            audit.record(conn, "create", "run", f"later-{i}", None, {"n": i})
    db.close()


def append_forged(path: Path) -> int:
    """What a database writer can do: chain a row onto the newest one with the hash
    anyone can compute, and move audit_head to it; returns its seq."""
    with sqlite3.connect(path) as conn:
        seq, prev = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC").fetchone()
        row = (prev, seq + 1, 1_700_000_000_000, "mallory", "approve", "promotion_request")
        row += ("r-forged", "null", '{"status":"approved"}')
        digest = audit._digest(*row)
        conn.execute(
            "INSERT INTO audit_log (prev_hash, seq, at, actor, action, entity_kind, entity_id, "
            "before, after, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, digest),
        )
        conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (seq + 1, digest))
    return seq + 1


def test_an_honest_store_verifies_and_says_what_is_anchored(store: Path) -> None:
    first = knot_cli("audit", "verify")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "audit log intact" in first.stdout and "no anchors in" in first.stdout
    anchored = knot_cli("audit", "anchor")
    assert anchored.returncode == 0, anchored.stderr
    assert "anchored record 7" in anchored.stdout and "created the audit key" in anchored.stdout
    key = key_path()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    write(2)  # sealed with the key now
    done = knot_cli("audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "newest covers records 1..7" in done.stdout
    assert "records 8..9 are not anchored yet" in done.stdout
    again = knot_cli("audit", "anchor")
    assert again.returncode == 0 and "created" not in again.stdout
    data = json.loads(knot_cli("audit", "verify", "--json").stdout)
    assert data["intact"] is True and data["breaks"] == []
    assert (data["anchors"]["anchors"], data["anchors"]["anchored_seq"]) == (2, 9)
    lines = Path(data["anchors"]["file"]).read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [7, 9]
    assert all(len(json.loads(line)["mac"]) == 64 for line in lines)


@pytest.mark.parametrize("honest_writes", [0, 2])
def test_a_correctly_hashed_row_appended_with_the_head_moved_is_named(
    store: Path, honest_writes: int
) -> None:
    assert knot_cli("audit", "anchor").returncode == 0
    write(honest_writes)
    forged = append_forged(store)
    done = knot_cli("audit", "verify")
    assert done.returncode == 1, done.stdout
    assert "forged" in done.stdout and "not sealed with the audit key" in done.stdout
    data = json.loads(knot_cli("audit", "verify", "--json").stdout)
    assert [(b["seq"], b["kind"]) for b in data["breaks"]] == [(forged, "forged")]
    refused = knot_cli("audit", "anchor")  # a forged head is never anchored
    assert refused.returncode == 1 and "not anchored" in refused.stdout


def test_a_tail_cut_off_below_the_newest_anchor_is_named(store: Path) -> None:
    assert knot_cli("audit", "anchor").returncode == 0
    with sqlite3.connect(store) as conn:
        (hash5,) = conn.execute("SELECT hash FROM audit_log WHERE seq = 5").fetchone()
        conn.execute("DELETE FROM audit_log WHERE seq > 5")
        conn.execute("UPDATE audit_head SET seq = 5, hash = ?", (hash5,))
    done = knot_cli("audit", "verify")
    assert done.returncode == 1, done.stdout
    data = json.loads(knot_cli("audit", "verify", "--json").stdout)
    (cut,) = data["breaks"]
    assert (cut["seq"], cut["kind"]) == (7, "removed")
    assert "record 7 was anchored at" in cut["reason"]
    assert "the log now ends at record 5" in cut["reason"]


def test_every_record_deleted_is_named(store: Path) -> None:
    assert knot_cli("audit", "anchor").returncode == 0
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM audit_log")
        conn.execute("DELETE FROM audit_head")
    done = knot_cli("audit", "verify")
    assert done.returncode == 1, done.stdout
    assert "removed" in done.stdout and "audit log is empty" in done.stdout
    data = json.loads(knot_cli("audit", "verify", "--json").stdout)
    assert [(b["seq"], b["kind"]) for b in data["breaks"]] == [(7, "removed")]
    assert "records up to 7 were anchored" in data["breaks"][0]["reason"]
    assert "every record was deleted" in data["breaks"][0]["reason"]


def test_a_rewritten_row_with_a_recomputed_hash_is_forged_once_sealed(store: Path) -> None:
    assert knot_cli("audit", "anchor").returncode == 0
    write(2)
    with sqlite3.connect(store) as conn:
        row = conn.execute("SELECT * FROM audit_log WHERE seq = 9").fetchone()
        names = [d[0] for d in conn.execute("SELECT * FROM audit_log").description]
        found = dict(zip(names, row, strict=True))
        fields = [found[k] for k in ("prev_hash", "seq", "at")]
        fields += ["mallory"] + [found[k] for k in ("action", "entity_kind", "entity_id")]
        fields += [found["before"], found["after"]]
        conn.execute(
            "UPDATE audit_log SET actor = 'mallory', hash = ? WHERE seq = 9",
            (audit._digest(*fields),),
        )
    breaks = json.loads(knot_cli("audit", "verify", "--json").stdout)["breaks"]
    assert (9, "forged") in [(b["seq"], b["kind"]) for b in breaks]


def test_an_edited_anchors_file_is_named(store: Path) -> None:
    assert knot_cli("audit", "anchor").returncode == 0
    governance = SqlGovernance(settings().store_uri)
    path = Path(governance.anchor_status().file)
    doc = json.loads(path.read_text())
    doc["seq"] = 3  # move the anchor back, as if the records after 3 never were
    path.write_text(json.dumps(doc) + "\nnot json\n")
    breaks = governance.verify_audit()
    governance.close()
    assert [(b.seq, b.kind) for b in breaks] == [(3, "anchor"), (0, "anchor")]
    assert "not signed with the audit key" in breaks[0].reason
    assert "line 2 of" in breaks[1].reason


def test_anchors_need_their_key_and_a_verified_log(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    governance = SqlGovernance(settings().store_uri)
    governance.anchor_audit()
    key_path().rename(key_path().with_name("moved.key"))
    with pytest.raises(Invalid, match="signed with the audit key, which is not here"):
        governance.verify_audit()
    monkeypatch.setenv("KNOT_AUDIT_KEY_FILE", str(key_path().with_name("moved.key")))
    assert governance.verify_audit() == []
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(Conflict, match=r"not anchored: record 2 edited"):
        governance.anchor_audit()
    governance.close()


def test_a_key_from_the_environment_seals_and_signs(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOT_AUDIT_KEY", "short")
    with pytest.raises(Invalid, match="needs at least 32"):
        load_key()
    monkeypatch.setenv("KNOT_AUDIT_KEY", "k" * 40)
    assert create_key().source == "KNOT_AUDIT_KEY" and not key_path().exists()
    governance = SqlGovernance(settings().store_uri)
    governance.anchor_audit()
    write(1)
    assert governance.verify_audit() == []
    # a writer without the key: its record is named, with the fix
    monkeypatch.delenv("KNOT_AUDIT_KEY")
    write(1)
    monkeypatch.setenv("KNOT_AUDIT_KEY", "k" * 40)
    (unsealed,) = governance.verify_audit()
    assert (unsealed.seq, unsealed.kind) == (9, "forged")
    assert "give every writer the same key" in unsealed.reason
    # a verifier with another key sees sealed records it cannot check
    monkeypatch.setenv("KNOT_AUDIT_KEY", "x" * 40)
    assert {b.kind for b in governance.verify_audit()} >= {"edited", "anchor"}
    governance.close()


def test_anchor_names_each_store_and_hides_its_password() -> None:
    name = audit_anchor.store_name("postgresql://knot:s3cret@db:5432/knot")
    assert name == "postgresql://knot@db:5432/knot"
    assert audit_anchor.store_name("sqlite:///rel.db") == f"sqlite:///{Path('rel.db').resolve()}"


def test_anchor_refuses_a_remote_store(knot_home: Path) -> None:
    env = {**os.environ, "KNOT_STORE": "http://127.0.0.1:9"}
    done = subprocess.run([KNOT, "audit", "anchor"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "is a Knot server: anchor where the database" in done.stderr


def test_every_backend_reports_its_anchor_coverage(backend: Backend) -> None:
    _history(backend.db)
    status = backend.store.anchor_status()
    assert (status.anchors, status.anchored_seq, status.last_seq) == (0, None, 7)
    assert status.file.endswith(".jsonl")
