"""Bring a store's schema to this Knot's version on first use, safely under concurrency.

The fast path is one SELECT of alembic_version. Only when it differs from HEAD do
we take a lock (a file lock for SQLite, an advisory lock for PostgreSQL) and let
Alembic upgrade, so eight processes opening a fresh store migrate it once.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, inspect, text

from knot.errors import SchemaTooNew
from knot.store.engine import WRITE, sqlite_path

__all__ = ["HEAD", "MIGRATIONS", "current_revision", "ensure_schema", "metadata", "upgrade"]

#: newest migration this Knot knows; tests check it equals Alembic's head
HEAD = "0014"
MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x4B4E4F54  # "KNOT"

#: the one MetaData every area declares its tables on (each in its own tables.py);
#: migrations/ builds the schema step by step and never reads these declarations
metadata = MetaData()


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine, uri: str) -> None:
    """Create or migrate the schema; raise SchemaTooNew for a store from a newer Knot."""
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision == HEAD:
        return
    with _migration_lock(engine, uri):
        upgrade(engine, uri, "head")


def upgrade(engine: Engine, uri: str, target: str) -> None:
    """Run Alembic up to `target` (used directly by tests to build older stores)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision is not None and revision not in known:
        raise SchemaTooNew(
            f"the store at {_safe(uri)} has schema revision {revision!r}, newer than this Knot "
            f"understands (newest known: {HEAD!r}); upgrade Knot (pip install -U knot) "
            "or point KNOT_STORE at another store"
        )
    if revision == HEAD and target == "head":
        return
    from alembic import command

    with engine.connect() as conn:
        conn = conn.execution_options(**WRITE)
        config.attributes["connection"] = conn
        command.upgrade(config, target)
        conn.commit()


@contextmanager
def _migration_lock(engine: Engine, uri: str) -> Iterator[None]:
    path = sqlite_path(uri)
    if path is not None:
        lock_path = path.with_name(path.name + ".migrate.lock")
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()


def _safe(uri: str) -> str:
    """The URI without a password, for error messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return uri
