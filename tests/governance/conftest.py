"""Governance fixtures: one GovernanceStore per backend (SQLite, PostgreSQL, and the
REST client against the app in-process), each with a Database on the same store for
writing what other areas would write (lineage edges, audited changes)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from knot.backends import open_governance
from knot.governance.protocol import GovernanceStore
from knot.store.database import Database
from tests.postgres import PostgresServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@dataclass
class Backend:
    """A governance store to query and the database underneath it, to write into."""

    name: str
    db: Database
    store: GovernanceStore


@pytest.fixture(params=["sqlite", "postgres", "remote"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    # no audit key, whatever the machine's KNOT_HOME holds: records carry plain sha256
    monkeypatch.delenv("KNOT_AUDIT_KEY", raising=False)
    monkeypatch.setenv("KNOT_AUDIT_KEY_FILE", str(tmp_path / "no-audit.key"))
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        uri = server.new_database()
    else:
        uri = f"sqlite:///{tmp_path / 'knot.db'}"
    db = Database(uri)
    if request.param == "remote":
        from knot.client.rest_governance import RestGovernance
        from knot.server.app import create_app

        app = create_app(uri, f"file://{tmp_path / 'artifacts'}", auth=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            store: GovernanceStore = RestGovernance("http://testserver", client=client)
            yield Backend(request.param, db, store)
            store.close()
    else:
        store = open_governance(uri)
        yield Backend(request.param, db, store)
        store.close()
    db.close()
