"""Point-in-time-correct training sets: for each entity row (keys + a timestamp), the
newest feature values stamped at or before that time, and none older than the view's
TTL. One DuckDB ASOF LEFT JOIN per view over its Parquet file, so a value from after
the label's time can never reach a training row, and DuckDB streams the files rather
than loading them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from knot.data.duck import connect, ident, literal
from knot.errors import Invalid
from knot.features.definitions import DTYPES
from knot.features.sources import ViewFile

__all__ = ["ViewRequest", "point_in_time_join"]

_ROW, _TS = "__knot_row", "__knot_ts"


@dataclass(frozen=True)
class ViewRequest:
    """Which features of one view to join, and the output column of each."""

    view: str
    features: tuple[str, ...]
    columns: tuple[str, ...]


def point_in_time_join(
    entities: pa.Table | Path,
    timestamp: str,
    requests: Sequence[ViewRequest],
    files: Mapping[str, ViewFile],
) -> pa.Table:
    """`entities` (an Arrow table or a Parquet file) with the requested features joined
    on, in the entity rows' order."""
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    if isinstance(entities, Path):
        # file_row_number keeps the file's row order whatever order DuckDB's threads read in
        src = f"read_parquet({literal(str(entities))}, file_row_number = true)"
        con.execute(f"CREATE VIEW __knot_src AS SELECT * FROM {src}")
        names = [d[0] for d in con.execute("SELECT * FROM __knot_src LIMIT 0").description]
        names.remove("file_row_number")
        numbered = f"SELECT * EXCLUDE (file_row_number), file_row_number AS {_ROW} FROM __knot_src"
    else:
        names = entities.column_names
        table = entities.append_column(_ROW, pa.array(np.arange(entities.num_rows, dtype=np.int64)))
        con.register("__knot_src", table)
        numbered = "SELECT * FROM __knot_src"
    _check_entity_columns(names, timestamp, requests, files)
    select = ["e.* EXCLUDE (" + ", ".join((_ROW, _TS)) + ")"]
    joins = []
    for i, request in enumerate(requests):
        view = files[request.view].stored.view
        alias = f"v{i}"
        keys = ", ".join(ident(k) for k in view.entities)
        casts = ", ".join(
            f"CAST({ident(f)} AS {DTYPES[view.features[view.feature_names.index(f)].dtype]}) "
            f"AS {ident(f)}"
            for f in request.features
        )
        # rows of one entity with the same time: the one later in the file wins, as in
        # materialization, so training and serving agree on the value. (A plain subquery:
        # DuckDB 2.0 mis-joins a QUALIFY that names a select alias under an ASOF join.)
        stamp = f"CAST({ident(view.timestamp)} AS TIMESTAMP)"
        source = (
            f"(SELECT * EXCLUDE (__knot_rank) FROM (SELECT {keys}, {stamp} AS {_TS}, {casts}, "
            f"row_number() OVER (PARTITION BY {keys}, {stamp} ORDER BY file_row_number DESC) "
            f"AS __knot_rank FROM read_parquet({literal(str(files[request.view].path))}, "
            "file_row_number = true)) WHERE __knot_rank = 1)"
        )
        on = " AND ".join(f"e.{ident(k)} = {alias}.{ident(k)}" for k in view.entities)
        joins.append(f"ASOF LEFT JOIN {source} {alias} ON {on} AND e.{_TS} >= {alias}.{_TS}")
        ttl = view.ttl_seconds
        for feature, column in zip(request.features, request.columns, strict=True):
            value = f"{alias}.{ident(feature)}"
            if ttl is not None:
                # the newest value is the one ASOF found; when it is too old, so is every older one
                fresh = f"{alias}.{_TS} >= e.{_TS} - INTERVAL {ttl} SECOND"
                value = f"CASE WHEN {fresh} THEN {value} END"
            select.append(f"{value} AS {ident(column)}")
    sql = (
        f"SELECT {', '.join(select)} FROM "
        f"(SELECT *, CAST({ident(timestamp)} AS TIMESTAMP) AS {_TS} FROM ({numbered})) e "
        f"{' '.join(joins)} ORDER BY e.{_ROW}"
    )
    return con.sql(sql).to_arrow_table()


def _check_entity_columns(
    names: Sequence[str],
    timestamp: str,
    requests: Sequence[ViewRequest],
    files: Mapping[str, ViewFile],
) -> None:
    needed = [timestamp] + [k for r in requests for k in files[r.view].stored.view.entities]
    missing = sorted({c for c in needed if c not in names})
    if missing:
        raise Invalid(
            f"the entity frame lacks columns {missing}; it has {', '.join(names)}. It needs "
            "each view's entity keys and the timestamp column (timestamp=...)",
            field="entity_frame",
        )
    clash = sorted({c for r in requests for c in r.columns} & set(names))
    if clash:
        raise Invalid(
            f"features {clash} have the names of entity frame columns; rename those columns "
            "or ask for full names (full_names=True gives view__feature)",
            field="features",
        )
