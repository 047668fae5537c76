"""Migration 0007 builds exactly the tables knot.monitoring.tables declares, and its
downgrade removes them again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from knot.monitoring import tables
from knot.store.database import Database
from knot.store.schema import upgrade
from tests.migrations import assert_migration_builds, declared_tables

MONITORING_TABLES = declared_tables(tables)


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    assert_migration_builds(tables, tmp_path)


def test_downgrade_to_0006_drops_them(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    db = Database(uri)
    from alembic import command
    from alembic.config import Config

    from knot.store.schema import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
        conn.commit()
    names = set(inspect(db.engine).get_table_names())
    assert not names & {t.name for t in MONITORING_TABLES}
    upgrade(db.engine, uri, "0007")
    assert {t.name for t in MONITORING_TABLES} <= set(inspect(db.engine).get_table_names())
    db.close()
