"""The check every area's migration test makes: a fresh store holds exactly the tables
that area's tables module declares (columns in order, nullability, primary key,
indexes)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from sqlalchemy import Table, inspect

from knot.store.database import Database


def declared_tables(tables: ModuleType) -> list[Table]:
    """The Tables a tables module exports."""
    found = [getattr(tables, name) for name in tables.__all__]
    return [t for t in found if isinstance(t, Table)]


def assert_migration_builds(tables: ModuleType, tmp_path: Path) -> None:
    """Open a new SQLite store under `tmp_path` (which runs every migration) and compare
    it with each Table in `tables.__all__` (a tables module may also export the function
    that opens its database)."""
    db = Database(f"sqlite:///{tmp_path / 'knot.db'}")
    found = inspect(db.engine)
    for table in declared_tables(tables):
        columns = {c["name"]: c for c in found.get_columns(table.name)}
        assert list(columns) == [c.name for c in table.columns], table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
        primary = found.get_pk_constraint(table.name)["constrained_columns"]
        assert primary == [c.name for c in table.primary_key.columns], table.name
        indexes = {i["name"] for i in found.get_indexes(table.name)}
        assert indexes == {i.name for i in table.indexes}, table.name
    db.close()
