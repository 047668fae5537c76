"""Materialization: the newest feature values per entity, from a view's source into an
online store, as a new generation published atomically.

Of an entity's rows with the same event time, the one later in the file wins (in the
point-in-time join too). Incremental from a watermark: a view already online for the
same view version gets a copy of its current generation plus the entities with rows
newer than the watermark (their newest row wins); a new view version is written from
scratch. Rows stamped at or before the watermark that arrive later are not picked up by
an incremental run; run with `full=True` after back-filling a source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from knot.data.duck import connect, ident, literal
from knot.errors import Conflict
from knot.features.definitions import DTYPES
from knot.features.keys import SEP
from knot.features.online.protocol import OnlineStore, Pointer
from knot.features.sources import ViewFile

__all__ = ["BATCH_ROWS", "Materialized", "materialize_view"]

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Materialized:
    view: str
    view_version: int
    generation: int
    rows: int  # entities written with new values
    watermark: int | None
    incremental: bool


def _key_sql(keys: Sequence[str]) -> str:
    return f" || '{SEP}' || ".join(f"CAST({ident(k)} AS VARCHAR)" for k in keys)


def materialize_view(
    file: ViewFile, store: OnlineStore, end: datetime | None = None, full: bool = False
) -> Materialized:
    """Write `file`'s view's newest values (stamped at or before `end`, default now)."""
    stored = file.stored
    view = stored.view
    pointer = store.pointer(view.name)
    incremental = pointer is not None and pointer.view_version == stored.version and not full
    since = pointer.watermark if incremental and pointer is not None else None
    until = end or datetime.now(UTC)
    until_ms = int(until.timestamp() * 1000)
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    ts = f"CAST({ident(view.timestamp)} AS TIMESTAMP)"
    where = [f"epoch_ms({ts}) <= {until_ms}", f"{ident(view.timestamp)} IS NOT NULL"]
    if since is not None:
        where.append(f"epoch_ms({ts}) > {since}")
    where += [f"{ident(k)} IS NOT NULL" for k in view.entities]
    values = ", ".join(
        [f"epoch_ms({ts})"] + [f"CAST({ident(f.name)} AS {DTYPES[f.dtype]})" for f in view.features]
    )
    partition = ", ".join(ident(k) for k in view.entities)
    sql = (
        f"SELECT {_key_sql(view.entities)} AS k, CAST(to_json([{values}]) AS VARCHAR) AS v, "
        f"epoch_ms({ts}) AS t FROM read_parquet({literal(str(file.path))}, "
        f"file_row_number = true) WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} "
        f"ORDER BY {ts} DESC, file_row_number DESC) = 1 "
        # in key order: the online store's B-tree then fills page after page
        "ORDER BY k"
    )
    result = con.execute(sql)
    newest: list[int] = []

    def batches() -> Iterator[tuple[list[str], list[bytes]]]:
        while True:
            rows = result.fetchmany(BATCH_ROWS)
            if not rows:
                return
            newest.append(max(r[2] for r in rows))
            yield [r[0] for r in rows], [r[1].encode() for r in rows]

    generation = (pointer.generation + 1) if pointer is not None else 1
    if not store.claim(view.name, generation):
        raise Conflict(
            f"feature view {view.name!r} is being materialized by another run (it holds "
            f"generation {generation}); wait for it to finish, then run again (a run that "
            "died holds its claim for an hour)",
            field="views",
        )
    base = pointer.generation if incremental and pointer is not None else None
    written = store.write(view.name, generation, batches(), base)
    watermark = max([*newest, since] if since is not None else newest, default=None)
    store.publish(view.name, Pointer(generation, watermark, stored.version))
    return Materialized(view.name, stored.version, generation, written, watermark, incremental)
