"""Monitoring fixtures: `monitor_store`, the metadata store alert and result tests run
on: SQLite, PostgreSQL and the live `knot server` (tests/backends.py). Prediction logs
and labels stay in the test's KNOT_HOME whichever it is (they are local files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends import StoreBackend


@pytest.fixture
def monitor_store(
    store_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    store_backend.use(monkeypatch)
    return store_backend.name
