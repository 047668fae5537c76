"""Governance fixtures: one GovernanceStore per backend of tests/backends.py (SQLite,
PostgreSQL, and the REST client against the session's live `knot server`), each with a
Database on the same store for writing what other areas would write (lineage edges,
audited changes) and for damaging the audit log behind the store's back. A test that
patches this process asks for the app in-process instead of the live server (IN_PROCESS
in tests/backends.py)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from knot.backends import open_governance
from knot.client.rest_governance import RestGovernance
from knot.governance.protocol import GovernanceStore
from knot.server.app import create_app
from knot.store.database import Database
from tests.backends import StoreBackend

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based TestClient in favour of httpx2; it still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@dataclass
class Backend:
    """A governance store to query and the database underneath it, to write into."""

    name: str
    db: Database
    store: GovernanceStore


@pytest.fixture
def backend(
    store_backend: StoreBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    # no audit key, whatever the machine's KNOT_HOME holds: records carry plain sha256
    # (the live server is started without one too)
    monkeypatch.delenv("KNOT_AUDIT_KEY", raising=False)
    monkeypatch.setenv("KNOT_AUDIT_KEY_FILE", str(tmp_path / "no-audit.key"))
    db = Database(store_backend.db_uri)
    if store_backend.in_process:
        app = create_app(store_backend.uri, store_backend.artifacts_uri, auth=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            store: GovernanceStore = RestGovernance("http://testserver", client=client)
            yield Backend(store_backend.name, db, store)
            store.close()
    else:
        store = open_governance(store_backend.uri)
        yield Backend(store_backend.name, db, store)
        store.close()
    db.close()
