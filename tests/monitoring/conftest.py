"""Monitoring fixtures: `monitor_store`, the metadata store alert and result tests run
on: SQLite and PostgreSQL (tests/backends.py); monitoring needs a SQL store, the server
does not serve it yet (issue #15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends import StoreBackend


@pytest.fixture
def monitor_store(
    sql_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    sql_backend.use(monkeypatch)
    return sql_backend.name
