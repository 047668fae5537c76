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


@pytest.fixture
def monitor_sql_store(
    sql_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """SQLite and PostgreSQL only: for a whole monitoring pass, which registers and reads
    its reference dataset, and datasets are not served by `knot server` on this branch
    (issue #15, the data area's routes); switch to `monitor_store` once they are."""
    sql_backend.use(monkeypatch)
    return sql_backend.name
