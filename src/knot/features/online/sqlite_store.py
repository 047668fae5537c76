"""The SQLite online store (the default): one WAL database file, one row per view,
generation and entity, and one row per view pointing at the generation readers use.

Readers resolve the pointer inside the statement that reads the values, on a
connection per thread; in WAL mode that statement reads one snapshot, so it sees the
old generation or the new one whole, and a writer never blocks it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from knot.errors import Invalid
from knot.features.online.protocol import CLAIM_SECONDS, Pointer

__all__ = ["SqliteOnlineStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS knot_online_pointers (
    view TEXT PRIMARY KEY, generation INTEGER NOT NULL, watermark INTEGER,
    view_version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS knot_online_claims (
    view TEXT NOT NULL, generation INTEGER NOT NULL, claimed_at REAL NOT NULL,
    PRIMARY KEY (view, generation));
CREATE TABLE IF NOT EXISTS knot_online_rows (
    view TEXT NOT NULL, generation INTEGER NOT NULL, entity TEXT NOT NULL,
    value BLOB NOT NULL, PRIMARY KEY (view, generation, entity)) WITHOUT ROWID;
"""
_CURRENT = "(SELECT generation FROM knot_online_pointers WHERE view = ?)"
# one entity of one view: the same snapshot rule as _read_sql, one fixed text, so the
# sqlite3 module's statement cache keeps it prepared across calls
_ONE = (
    "SELECT value FROM knot_online_rows WHERE view = ?1 AND generation = "
    "(SELECT generation FROM knot_online_pointers WHERE view = ?1) AND entity = ?2"
)


class SqliteOnlineStore:
    def __init__(self, uri: str) -> None:
        path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else None
        if not path:
            raise Invalid(
                f"online store {uri!r} is not a SQLite URI; write sqlite:////abs/path/online.db",
                field="online_store",
            )
        self.uri = uri
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._sql: dict[tuple[int, ...], str] = {}  # read statements by batch shape
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({self.uri!r})"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def pointer(self, view: str) -> Pointer | None:
        row = (
            self._reader()
            .execute(
                "SELECT generation, watermark, view_version FROM knot_online_pointers "
                "WHERE view = ?",
                (view,),
            )
            .fetchone()
        )
        return None if row is None else Pointer(*row)

    def claim(self, view: str, generation: int) -> bool:
        with self._write_lock, self._connect() as conn:
            now = time.time()
            conn.execute(
                "DELETE FROM knot_online_claims WHERE view = ? AND generation = ? "
                "AND claimed_at < ?",
                (view, generation, now - CLAIM_SECONDS),
            )
            taken = conn.execute(
                "INSERT OR IGNORE INTO knot_online_claims VALUES (?, ?, ?)",
                (view, generation, now),
            ).rowcount
            conn.commit()
            return taken == 1

    def write(
        self,
        view: str,
        generation: int,
        batches: Iterable[tuple[Sequence[str], Sequence[bytes]]],
        base: int | None,
    ) -> int:
        with self._write_lock, self._connect() as conn:
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB while a generation is written
            # a generation left by a run that died half-way is started over
            conn.execute(
                "DELETE FROM knot_online_rows WHERE view = ? AND generation = ?",
                (view, generation),
            )
            if base is not None:
                conn.execute(
                    "INSERT INTO knot_online_rows SELECT view, ?, entity, value "
                    "FROM knot_online_rows WHERE view = ? AND generation = ?",
                    (generation, view, base),
                )
            conn.commit()
            count = 0
            for keys, values in batches:
                conn.executemany(
                    "INSERT OR REPLACE INTO knot_online_rows VALUES (?, ?, ?, ?)",
                    [(view, generation, k, v) for k, v in zip(keys, values, strict=True)],
                )
                conn.commit()
                count += len(keys)
            return count

    def publish(self, view: str, pointer: Pointer) -> None:
        with self._write_lock, self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO knot_online_pointers VALUES (?, ?, ?, ?)",
                (view, pointer.generation, pointer.watermark, pointer.view_version),
            )
            conn.commit()
            conn.execute(
                "DELETE FROM knot_online_rows WHERE view = ? AND generation != ?",
                (view, pointer.generation),
            )
            conn.commit()

    def read(self, lookups: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        shape = tuple(len(keys) for _, keys in lookups)
        sql = self._sql.get(shape)
        if sql is None:
            if len(self._sql) > 512:  # batch shapes vary; keep the cache bounded
                self._sql.clear()
            sql = self._sql[shape] = _read_sql(shape)
        params: list[str] = []
        for view, keys in lookups:
            if keys:
                params += [view, view, *keys]
        if not params:
            return [[None] * len(keys) for _, keys in lookups]
        rows = self._reader().execute(sql, params)
        if len(lookups) == 1:  # one view: keyed by entity alone, looked up in C
            one = {entity: value for _, entity, value in rows}
            return [list(map(one.get, lookups[0][1]))]
        found: dict[tuple[int, str], bytes] = {(i, e): v for i, e, v in rows}
        return [[found.get((i, k)) for k in keys] for i, (_, keys) in enumerate(lookups)]

    def read_one(self, view: str, key: str) -> bytes | None:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:  # a cursor kept per thread: no new one per call
            cursor = self._local.cursor = self._reader().cursor()
        row = cursor.execute(_ONE, (view, key)).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.cursor = None


def _read_sql(shape: tuple[int, ...]) -> str:
    """One statement for every view's lookup; each resolves its view's current generation
    inside the statement, so all of it reads one snapshot."""
    parts = [
        f"SELECT {i}, entity, value FROM knot_online_rows WHERE view = ? AND "
        f"generation = {_CURRENT} AND entity IN ({','.join('?' * n)})"
        for i, n in enumerate(shape)
        if n
    ]
    return " UNION ALL ".join(parts)
