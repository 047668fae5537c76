"""Shared fixtures: an isolated KNOT_HOME per test, and real servers started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, find_pg_bin, postgres_server


@pytest.fixture
def knot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KNOT_HOME with the default SQLite store and local artifacts."""
    import knot

    home = tmp_path / "knot-home"
    monkeypatch.setenv("KNOT_HOME", str(home))
    for name in ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_EXPERIMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KNOT_USER", "tester")
    knot.reset()
    yield home
    knot.reset()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; .ci/run does)")
    with postgres_server() as server:
        yield server
