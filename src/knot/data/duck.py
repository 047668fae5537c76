"""DuckDB, the engine that reads, checks and profiles dataset files without loading them.

Each use opens its own in-memory connection. `sandboxed(path)` also limits that
connection to the one file being checked, so a rule's SQL expression can read the
dataset and nothing else on the machine.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from knot.data.lanes import threads

__all__ = ["connect", "ident", "literal", "sandboxed"]


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {threads()}")
    return con


def sandboxed(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection that may read `path` only."""
    con = connect()
    con.execute(f"SET allowed_paths = [{literal(str(path))}]")
    con.execute("SET enable_external_access = false")
    return con


def ident(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A Python value as a SQL literal (None, bool, int, finite float or text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"'{value}'::DOUBLE"
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
