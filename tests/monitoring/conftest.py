"""Monitoring fixtures: `monitor_store`, the metadata store alert and result tests run
on, SQLite and PostgreSQL (a real server, started once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def monitor_store(
    request: pytest.FixtureRequest, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    if request.param == "postgres":
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("KNOT_STORE", server.new_database())
    return str(request.param)
