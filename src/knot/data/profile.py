"""Per-column statistics of a Parquet file, computed by DuckDB and NumPy in parallel.

Count, nulls, distinct (a HyperLogLog estimate), min/max/mean/std, quantiles and a
20-bin histogram for numeric columns, top-10 values for text, categorical and
boolean columns. The histogram's bin edges are kept: drift detection later counts
new data over the same edges. Quantiles are exact while the numeric values fit
EXACT_QUANTILE_VALUES, and a t-digest estimate beyond, so memory stays bounded.

Min and max come first (mostly from the Parquet footer), as they fix the bin edges.
Then everything else runs at once, `knot.data.lanes` at a time: DuckDB scans for counts,
distinct counts and top values, and, while quantiles are exact, one NumPy task per
numeric column (knot.data.numeric), which reads that column alone; beyond, DuckDB
streams those statistics too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from knot.data.canonical import column_kind
from knot.data.duck import connect, ident, literal
from knot.data.lanes import lanes, query, run_tasks, split
from knot.data.numeric import numeric_statistics

__all__ = [
    "QUANTILES",
    "ColumnProfile",
    "Histogram",
    "Profile",
    "TopValue",
    "compute_profile",
    "quantile_sql",
]

QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
BINS = 20
TOP_K = 10
EXACT_QUANTILE_VALUES = 50_000_000
NUMERIC = ("integer", "float", "decimal")
# what a statistic costs per row, counting being 1, measured with DuckDB; only used to
# balance lanes (knot.data.lanes)
_COST = {"quantiles": 8, "bins": 3, "mean": 2, "std": 2, "numpy": 7}
COUNTED = ("string", "categorical", "boolean")
Value = float | int | str | None


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True)


class Histogram(_Model):
    """Counts of values in BINS equal-width bins; edges has one more entry than counts.
    Each bin holds edges[i] <= x < edges[i+1], the last one also x == edges[-1]."""

    edges: list[float]
    counts: list[int]


class TopValue(_Model):
    value: str
    count: int


class ColumnProfile(_Model):
    name: str
    type: str
    kind: str
    count: int = Field(description="values that are not null")
    nulls: int
    null_fraction: float
    distinct: int | None = Field(default=None, description="HyperLogLog estimate")
    min: Value = None
    max: Value = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = Field(default_factory=dict)
    quantiles_exact: bool = True
    histogram: Histogram | None = None
    top: list[TopValue] = Field(default_factory=list)


class Profile(_Model):
    rows: int
    columns: list[ColumnProfile]

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)


def quantile_sql(expr: str, qs: tuple[float, ...] | list[float], exact: bool) -> str:
    fn = "quantile_cont" if exact else "approx_quantile"
    return f"{fn}({expr}, [{', '.join(repr(float(q)) for q in qs)}])"


def exact_quantiles(rows: int, numeric_columns: int) -> bool:
    return rows * max(numeric_columns, 1) <= EXACT_QUANTILE_VALUES


def compute_profile(path: Path, on_step: Callable[[str], None] | None = None) -> Profile:
    """Profile the Parquet file at `path`; `on_step` hears as each of the two steps starts."""
    schema = pq.ParquetFile(path).schema_arrow
    rows = pq.ParquetFile(path).metadata.num_rows
    kinds = {f.name: column_kind(f.type) for f in schema}
    numeric = [n for n, k in kinds.items() if k in NUMERIC]
    exact = exact_quantiles(rows, len(numeric))
    con = connect()
    table = f"read_parquet({literal(str(path))})"
    try:
        step = on_step or (lambda _label: None)
        step("ranges")
        ranges = _ranges(con, table, numeric, kinds)
        step("statistics")
        stats, top = _statistics(con, path, table, schema.names, kinds, ranges, exact)
    finally:
        con.close()
    columns = []
    for f in schema:
        s = stats[f.name]
        count = int(s["count"])
        columns.append(
            ColumnProfile(
                name=f.name,
                type=str(f.type),
                kind=kinds[f.name],
                count=count,
                nulls=rows - count,
                null_fraction=(rows - count) / rows if rows else 0.0,
                distinct=s.get("distinct"),
                min=_plain(s.get("min")),
                max=_plain(s.get("max")),
                mean=_number(s.get("mean")),
                std=_number(s.get("std")),
                quantiles=s.get("quantiles", {}),
                quantiles_exact=exact,
                histogram=s.get("histogram"),
                top=top.get(f.name, []),
            )
        )
    return Profile(rows=rows, columns=columns)


def _value_expr(name: str, kind: str, finite_only: bool) -> str:
    col = ident(name)
    if kind == "decimal":
        col = f"CAST({col} AS DOUBLE)"
    return f"CASE WHEN isfinite({col}) THEN {col} END" if finite_only else col


def _ranges(
    con: Any, table: str, numeric: list[str], kinds: dict[str, str]
) -> dict[str, tuple[float | None, float | None, bool]]:
    """min, max and whether non-finite values had to be left out, per numeric column.
    Plain min/max come from the Parquet statistics; only columns holding NaN or
    infinities need a second, filtered scan."""
    if not numeric:
        return {}
    exprs = [
        f"min({_value_expr(n, kinds[n], False)}), max({_value_expr(n, kinds[n], False)})"
        for n in numeric
    ]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {table}").fetchone()
    out: dict[str, tuple[float | None, float | None, bool]] = {}
    odd = []
    for i, name in enumerate(numeric):
        lo, hi = _number(row[2 * i]), _number(row[2 * i + 1])
        if kinds[name] == "float" and any(
            v is not None and not math.isfinite(float(v)) for v in (row[2 * i], row[2 * i + 1])
        ):
            odd.append(name)
        out[name] = (lo, hi, False)
    if odd:
        exprs = [
            f"min({_value_expr(n, kinds[n], True)}), max({_value_expr(n, kinds[n], True)})"
            for n in odd
        ]
        row = con.execute(f"SELECT {', '.join(exprs)} FROM {table}").fetchone()
        for i, name in enumerate(odd):
            out[name] = (_number(row[2 * i]), _number(row[2 * i + 1]), True)
    return out


def _statistics(
    con: Any,
    path: Path,
    table: str,
    names: list[str],
    kinds: dict[str, str],
    ranges: dict[str, tuple[float | None, float | None, bool]],
    exact: bool,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[TopValue]]]:
    """Every statistic: one slot per statistic in one DuckDB scan per lane (see
    knot.data.lanes), alongside the top values query and, while quantiles are exact, a
    NumPy task per numeric column for mean, std, quantiles and histogram."""
    by_numpy = list(ranges) if exact else []
    per_column = [
        _column_slots(name, kinds[name], None if name in by_numpy else ranges.get(name), exact)
        for name in names
    ]
    lanes_ = split(per_column, _slots_cost, lanes(path))
    tasks: list[tuple[float, Callable[[], Any]]] = [
        (
            _slots_cost([slot for slots in lane for slot in slots]),
            query(
                con, f"SELECT {', '.join(sql for slots in lane for *_, sql in slots)} FROM {table}"
            ),
        )
        for lane in lanes_
    ]
    counted = [n for n, k in kinds.items() if k in COUNTED]
    if counted:
        tasks.append((2.0 * len(counted), query(con, _top_values_sql(table, counted))))
    for name in by_numpy:
        lo, hi, finite_only = ranges[name]
        tasks.append(
            (
                _COST["numpy"],
                partial(numeric_statistics, path, name, QUANTILES, BINS, lo, hi, finite_only),
            )
        )
    results = run_tasks(tasks)
    out: dict[str, dict[str, Any]] = {name: {} for name in names}
    for lane, rows in zip(lanes_, results[: len(lanes_)], strict=True):
        slots = [slot for column_slots in lane for slot in column_slots]
        for (name, stat, _), value in zip(slots, rows[0], strict=True):
            out[name][stat] = value
    for name, values in zip(by_numpy, results[len(results) - len(by_numpy) :], strict=True):
        out[name].update(values)
    for name, (lo, hi, _) in ranges.items():
        s = out[name]
        s["min"], s["max"] = lo, hi
        s["quantiles"] = {
            str(q): float(v)
            for q, v in zip(QUANTILES, s.get("quantiles") or [], strict=False)
            if v is not None
        }
        s["histogram"] = _histogram(lo, hi, s.pop("bins", None), int(s["count"]))
    top: dict[str, list[TopValue]] = {name: [] for name in counted}
    for col, value, n in results[len(lanes_)] if counted else []:
        top[col].append(TopValue(value=value, count=int(n)))
    for values in top.values():
        values.sort(key=lambda t: (-t.count, t.value))
    return out, top


def _column_slots(
    name: str, kind: str, range_: tuple[float | None, float | None, bool] | None, exact: bool
) -> list[tuple[str, str, str]]:
    """(column, statistic, aggregate SQL) for each statistic of one column."""
    col = ident(name)
    slots = [(name, "count", f"count({col})")]
    if kind in ("binary", "other"):
        return slots
    slots.append((name, "distinct", f"approx_count_distinct({col})"))
    if kind in ("timestamp", "date"):
        slots += [(name, "min", f"min({col})"), (name, "max", f"max({col})")]
    if kind not in NUMERIC or range_ is None:
        return slots
    lo, hi, finite_only = range_
    x = _value_expr(name, kind, finite_only)
    slots += [
        (name, "mean", f"avg({x})"),
        (name, "std", f"stddev_samp({x})"),
        (name, "quantiles", quantile_sql(x, QUANTILES, exact)),
    ]
    if lo is not None and hi is not None and hi > lo:
        width = (hi - lo) / BINS
        bin_of = f"least(floor(({x} - {lo!r}) / {width!r}), {BINS - 1})::INTEGER"
        slots.append((name, "bins", f"histogram({bin_of}) FILTER (WHERE {x} IS NOT NULL)"))
    return slots


def _slots_cost(slots: list[tuple[str, str, str]]) -> float:
    return float(sum(_COST.get(stat, 1) for _, stat, _ in slots))


def _histogram(lo: float | None, hi: float | None, bins: Any, count: int) -> Histogram | None:
    if lo is None or hi is None:
        return None
    if hi <= lo:
        return Histogram(edges=[lo, hi], counts=[count])
    width = (hi - lo) / BINS
    edges = [lo + i * width for i in range(BINS)] + [hi]
    counts = [0] * BINS
    for index, n in (bins or {}).items():
        if index is not None:
            counts[min(max(int(index), 0), BINS - 1)] += int(n)
    return Histogram(edges=edges, counts=counts)


def _top_values_sql(table: str, names: list[str]) -> str:
    return " UNION ALL ".join(
        f"(SELECT {literal(name)} AS col, CAST({ident(name)} AS VARCHAR) AS value, count(*) AS n "
        f"FROM {table} WHERE {ident(name)} IS NOT NULL GROUP BY {ident(name)} "
        f"ORDER BY n DESC, value LIMIT {TOP_K})"
        for name in names
    )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Value:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
