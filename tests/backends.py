"""The metadata stores every area's conformance tests run on, defined once.

    sqlite    a SQLite file in the test's own folder
    postgres  a new database on the session's PostgreSQL server (tests/postgres.py)
    remote    the session's live `knot server` process, reached over real HTTP; its
              store is emptied before each test, so a test sees a new store without
              paying for a new server

A `StoreBackend` is only addresses: nothing is opened or created on sqlite or
postgres, so a migration test can build an old schema there first. Each area's
conftest opens the stores it tests at `uri` (a SQL URI, or the server's URL), and
the SQL database underneath at `db_uri`, to read or damage what they wrote.

The fixtures, registered in tests/conftest.py:
    store_backend   sqlite, postgres, remote: every area `knot server` serves (all of
                    them: tracking, registry, governance, traffic, datasets,
                    monitoring, the retraining loop, pipeline records)
    sql_backend     sqlite, postgres: tests about the SQL database itself
    remote_backend  the live server alone, for tests about a store behind a server
    knot_server     the session's server itself
An in-process variant (the app through an ASGI transport, no socket) is not one of
them: "remote" always means the live server. A test that patches something in this
process, which a live server cannot see, may ask for IN_PROCESS by name (indirect
parametrization of `store_backend`): a SQLite store whose area fixture serves it through
the app in-process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table

from knot.store.database import Database
from tests.server.live import start_server

__all__ = [
    "ALL",
    "IN_PROCESS",
    "SQL",
    "KnotServer",
    "StoreBackend",
    "open_backend",
    "running_server",
]

SQL = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
ALL = [*SQL, pytest.param("remote", marks=pytest.mark.server)]
IN_PROCESS = "in-process"

# the schema's version row survives a reset: the store stays at head, as the server left it
_KEEP = {"alembic_version"}


@dataclass
class KnotServer:
    """A running `knot server` over a SQLite store, and a way to empty that store."""

    url: str
    store_uri: str
    artifacts_uri: str
    db: Database
    tables: list[Table] = field(default_factory=list)

    def reset(self) -> None:
        """Delete every row of every table, children before parents, in one transaction.
        The server keeps no copy of store rows in memory, so its next request sees a new
        store; audit sequence numbers start at 1 again (they are counted from the rows)."""
        with self.db.write() as conn:
            for table in self.tables:
                conn.execute(table.delete())


@contextmanager
def running_server(root: Path) -> Iterator[KnotServer]:
    """Start `knot server` on a new SQLite store under `root`. Its environment is fixed
    here, not inherited from whichever test happens to start it: its own KNOT_HOME, user
    `tester` (as `knot_home` sets for the test), no audit key (records carry plain
    sha256, as the governance tests expect), auth off."""
    store_uri = f"sqlite:///{root / 'knot.db'}"
    artifacts_uri = f"file://{root / 'artifacts'}"
    db = Database(store_uri)  # brings the schema to head before the server opens it
    metadata = MetaData()
    metadata.reflect(db.engine)
    tables = [t for t in reversed(metadata.sorted_tables) if t.name not in _KEEP]
    env = {
        "KNOT_HOME": str(root / "home"),
        "KNOT_USER": "tester",
        "KNOT_AUTH": "0",
        "KNOT_AUDIT_KEY_FILE": str(root / "no-audit.key"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("KNOT_")]:
            patch.delenv(name)
        server = start_server(store_uri, artifacts_uri, env=env)
    try:
        yield KnotServer(server.url, store_uri, artifacts_uri, db, tables)
    finally:
        server.stop()
        db.close()


@dataclass(frozen=True)
class StoreBackend:
    """Where one test's metadata store lives."""

    name: str  # sqlite | postgres | remote (| in-process): also the test id
    uri: str  # what a client opens (KNOT_STORE): the SQL URI, or the server's URL
    #           (in-process: the SQLite URI the app in-process serves)
    db_uri: str  # the SQL database underneath; the same as `uri` but for remote
    artifacts_uri: str  # where artifacts go (remote: the server's store, which its clients
    #                     reach through the server's blob routes, never this URI)

    @property
    def remote(self) -> bool:
        return self.name == "remote"

    @property
    def in_process(self) -> bool:
        return self.name == IN_PROCESS

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point KNOT_STORE and KNOT_ARTIFACTS of this test at this backend, for the SDK
        and the CLI (knot.reset() drops what the SDK opened before). A remote client
        has no KNOT_ARTIFACTS: its artifacts go through the server."""
        import knot

        monkeypatch.setenv("KNOT_STORE", self.uri)
        if self.remote:  # a server's client keeps its artifacts on the server, as users do
            monkeypatch.delenv("KNOT_ARTIFACTS", raising=False)
        else:
            monkeypatch.setenv("KNOT_ARTIFACTS", self.artifacts_uri)
        knot.reset()


def open_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    """The backend `name` for one test. The local artifacts and the SQLite file are
    where the test's KNOT_HOME (the `knot_home` fixture) would keep them by default."""
    home = tmp_path / "knot-home"
    artifacts = f"file://{home / 'artifacts'}"
    if name in ("sqlite", IN_PROCESS):
        uri = f"sqlite:///{home / 'knot.db'}"
        return StoreBackend(name, uri, uri, artifacts)
    if name == "postgres":
        uri = request.getfixturevalue("postgres").new_database()
        return StoreBackend(name, uri, uri, artifacts)
    if name == "remote":
        server: KnotServer = request.getfixturevalue("knot_server")
        server.reset()
        return StoreBackend(name, server.url, server.store_uri, server.artifacts_uri)
    known = f"sqlite, postgres, remote and {IN_PROCESS}"
    raise ValueError(f"no backend {name!r}; the backends are {known}")
