"""The online store a URI names: sqlite:///PATH (the default) or redis://HOST:PORT/DB."""

from __future__ import annotations

from knot.errors import Invalid
from knot.features.online.protocol import OnlineStore

__all__ = ["open_online_store"]


def open_online_store(uri: str) -> OnlineStore:
    if uri.startswith("sqlite:///"):
        from knot.features.online.sqlite_store import SqliteOnlineStore

        return SqliteOnlineStore(uri)
    if uri.startswith(("redis://", "rediss://", "unix://")):
        from knot.features.online.redis_store import RedisOnlineStore

        return RedisOnlineStore(uri)
    raise Invalid(
        f"online store URI {uri!r} has no supported scheme; use sqlite:////abs/path/online.db "
        "or redis://host:port/0 (set KNOT_ONLINE_STORE)",
        field="online_store",
    )
