"""API tokens: created once, stored only as a hash, listed, revoked, audited, and refused
when malformed, unknown or revoked; and `knot tokens` on the command line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from knot.cli import app
from knot.errors import Conflict, Invalid, NotFound
from knot.governance.audit_query import AuditQuery, query
from knot.governance.identity import acting_as
from knot.governance.roles import Unauthorized, allows
from knot.governance.tables import api_tokens
from knot.governance.tokens import authenticate, create_token, list_tokens, revoke_token
from knot.store.database import Database

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'knot.db'}")
    yield database
    database.close()


def test_a_token_is_shown_once_and_stored_only_as_a_hash(db: Database) -> None:
    with acting_as("root"):
        token, secret = create_token(db, "ci-bot", "editor")
    assert secret.startswith(f"knot_{token.token_id}_") and len(secret) > 50
    with db.read() as conn:
        row = conn.execute(select(api_tokens)).one()
    stored = " ".join(str(v) for v in row)
    assert secret.rsplit("_", 1)[-1] not in stored and secret not in stored
    assert row.secret_hash == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
    assert authenticate(db, secret) == token
    assert token.created_by == "root" and token.role == "editor" and token.active


def test_tokens_are_listed_revoked_and_audited(db: Database) -> None:
    _, viewer = create_token(db, "ana@team", "viewer")
    create_token(db, "deployer", "admin")
    assert [(t.name, t.role) for t in list_tokens(db)] == [
        ("ana@team", "viewer"),
        ("deployer", "admin"),
    ]
    revoked = revoke_token(db, "ana@team")
    assert revoked.revoked_at is not None and not revoked.active
    with pytest.raises(Unauthorized, match="'ana@team' was revoked"):
        authenticate(db, viewer)
    with db.read() as conn:
        rows = query(conn, AuditQuery(entity_kind="api_token"))
    assert [(r.action, r.entity_id) for r in rows] == [
        ("create", "ana@team"),
        ("create", "deployer"),
        ("revoke", "ana@team"),
    ]
    assert all("secret_hash" not in (r.after or {}) for r in rows)


@pytest.mark.parametrize(
    ("token", "hint"),
    [
        ("", "not a Knot token"),
        ("hunter2", "not a Knot token"),
        ("knot_zzzzzzzzzzzz_" + "a" * 43, "not a Knot token"),
        ("knot_0123456789ab_" + "a" * 43, "not valid on this server"),
    ],
)
def test_malformed_and_unknown_tokens_are_refused(db: Database, token: str, hint: str) -> None:
    create_token(db, "someone", "viewer")
    with pytest.raises(Unauthorized, match=hint) as caught:
        authenticate(db, token)
    assert "knot tokens create" in caught.value.message and caught.value.status_code == 401


def test_a_wrong_secret_for_a_real_id_is_refused(db: Database) -> None:
    _, secret = create_token(db, "someone", "viewer")
    prefix, _, rest = secret.rpartition("_")
    with pytest.raises(Unauthorized, match="not valid"):
        authenticate(db, f"{prefix}_{'x' * len(rest)}")


def test_bad_names_roles_and_repeats_change_nothing(db: Database) -> None:
    with pytest.raises(Invalid, match="token name 'no spaces'") as caught:
        create_token(db, "no spaces", "viewer")
    assert caught.value.field == "name"
    with pytest.raises(Invalid, match="viewer, editor, approver, admin"):
        create_token(db, "ok", "superuser")
    create_token(db, "ok", "viewer")
    with pytest.raises(Conflict, match="'ok' already exists"):
        create_token(db, "ok", "admin")
    with pytest.raises(NotFound, match="tokens: ok"):
        revoke_token(db, "ghost")
    revoke_token(db, "ok")
    with pytest.raises(Conflict, match="already revoked"):
        revoke_token(db, "ok")
    assert [(t.name, t.role) for t in list_tokens(db)] == [("ok", "viewer")]


def test_roles_are_ranked() -> None:
    assert allows("admin", "approver") and allows("approver", "editor")
    assert allows("editor", "viewer") and not allows("editor", "approver")
    assert not allows("viewer", "editor") and not allows("unknown", "viewer")


def test_cli_create_list_revoke(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    made = runner.invoke(app, ["tokens", "create", "ci", "--role", "editor", "--store", uri])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("knot_") and "shown only now" in made.stderr
    listed = runner.invoke(app, ["tokens", "list", "--store", uri])
    assert "ci" in listed.output and "editor" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["tokens", "revoke", "ci", "--store", uri]).exit_code == 0
    data = json.loads(runner.invoke(app, ["tokens", "list", "--store", uri, "--json"]).output)
    assert data[0]["name"] == "ci" and data[0]["revoked_at"] is not None
    assert "secret" not in json.dumps(data)


def test_cli_refuses_a_server_uri_and_a_bad_role(tmp_path: Path) -> None:
    remote = runner.invoke(app, ["tokens", "list", "--store", "http://127.0.0.1:1"])
    assert remote.exit_code != 0 and "metadata store" in str(remote.exception)
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    bad = runner.invoke(app, ["tokens", "create", "x", "--role", "boss", "--store", uri])
    assert bad.exit_code != 0 and "viewer, editor" in str(bad.exception)
