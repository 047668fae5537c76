"""Every area's store is chosen the same way: by the metadata URI's scheme, from a
table of "module:callable" targets imported on first use (so `import knot` stays fast
and the HTTP clients, which are doors above the areas, are never imported by them)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from knot.errors import Invalid

__all__ = ["SQL_SCHEMES", "backend_for", "schemes"]

#: the schemes a SQL repository answers (the HTTP client answers http and https)
SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def schemes(sql: str, rest: str) -> dict[str, str]:
    """The usual table: `sql` for every SQL scheme, `rest` for http(s)."""
    return {**dict.fromkeys(SQL_SCHEMES, sql), "http": rest, "https": rest}


def backend_for(uri: str, table: Mapping[str, str]) -> Any:
    """The callable registered for `uri`'s scheme; an unknown scheme says which exist."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    target = table.get(scheme)
    if target is None:
        raise Invalid(
            f"store URI {uri!r} has no supported scheme; use one of "
            "sqlite:////abs/path/knot.db, postgresql://user@host:port/db, http://host:port",
            field="store",
        )
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
