"""The reference side of drift: per column either a sorted sample (from a table, sorted
once and reusable against many current windows) or counts over bins (from a stored
profile), so a reference never has to be re-read.

From a profile (`reference_from_profile`), a numeric column is its 20-bin histogram
with open bins added below the minimum and above the maximum; PSI, Jensen-Shannon and
chi-square use those bins as they are, and KS and Wasserstein compare the current
sample with the histogram's piecewise linear CDF (uniform inside each bin), which is
an approximation and is marked `approximate` in the report. A text column is its top
values plus one "other" bucket for the rest, so new categories can only be told apart
when the profile saw every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from knot.errors import Invalid
from knot.monitoring.drift.samples import (
    Categories,
    Family,
    category_counts,
    family,
    load_table,
    numeric_sample,
)
from knot.monitoring.drift.stats import Sample

if TYPE_CHECKING:
    from knot.data.profile import ColumnProfile, Profile

__all__ = [
    "OTHER",
    "ColumnReference",
    "NumericBins",
    "Reference",
    "column_reference",
    "reference_from_profile",
]

OTHER = "(other)"
PROFILE_NUMERIC = ("integer", "float", "decimal")
PROFILE_COUNTED = ("string", "categorical", "boolean")


@dataclass(frozen=True)
class NumericBins:
    """A numeric column known by counts: bin i holds edges[i-1] <= x < edges[i]
    (len(edges) + 1 bins, the outer ones open), plus the piecewise linear CDF through
    (cdf_x, cdf_f) the counts imply, and the column's standard deviation."""

    edges: NDArray[np.float64]
    counts: NDArray[np.int64]
    cdf_x: NDArray[np.float64]
    cdf_f: NDArray[np.float64]
    std: float
    missing: int = 0

    @property
    def n(self) -> int:
        return int(self.counts.sum())


ColumnReference = Sample | NumericBins | Categories


@dataclass(frozen=True)
class Reference:
    """What drift compares current data with, column by column; `rows` counts every
    row, missing values included."""

    columns: dict[str, ColumnReference]
    rows: int
    # columns with no values at all (Arrow's null type): comparable with either kind
    untyped_columns: frozenset[str] = frozenset()

    @classmethod
    def from_source(cls, source: Any, columns: Sequence[str] | None = None) -> Reference:
        """Read `source` (DataFrame, Arrow table, dataset URI, Parquet/CSV path) once,
        sorting each numeric column, to compare with many current windows."""
        table = load_table(source, "reference")
        names = list(columns) if columns is not None else table.column_names
        return cls.from_table(table, names)

    @classmethod
    def from_table(cls, table: pa.Table, names: Sequence[str]) -> Reference:
        out: dict[str, ColumnReference] = {}
        untyped = set()
        present = set(table.column_names)
        for name in names:
            if name not in present:
                raise Invalid(
                    f"column {name!r} is not in the reference (it has "
                    f"{table.column_names[:20]}); leave it out of columns",
                    field="columns",
                )
            column = table.column(name)
            if pa.types.is_null(column.type):
                untyped.add(name)
            ref = column_reference(column)
            if ref is not None:
                out[name] = ref
        return cls(out, table.num_rows, frozenset(untyped))

    def names(self) -> list[str]:
        return list(self.columns)

    def family(self, name: str) -> Family | None:
        if name not in self.columns or name in self.untyped_columns:
            return None
        return "categorical" if isinstance(self.columns[name], Categories) else "numeric"

    def untyped(self, name: str) -> bool:
        return name in self.untyped_columns

    def column(self, name: str) -> ColumnReference:
        return self.columns[name]


def column_reference(column: pa.ChunkedArray) -> ColumnReference | None:
    """One column as a reference: a sorted sample of numbers, counts of categories, no
    values (Arrow's null type) as empty counts, None for what drift cannot compare."""
    if pa.types.is_null(column.type):
        return Categories({}, len(column))
    kind = family(column.type)
    if kind is None:
        return None
    return numeric_sample(column) if kind == "numeric" else category_counts(column)


def reference_from_profile(profile: Profile) -> Reference:
    """A reference made of a stored profile's histograms and top values (see the
    module's notes on what that allows)."""
    out: dict[str, ColumnReference] = {}
    for column in profile.columns:
        ref = _from_column_profile(column)
        if ref is not None:
            out[column.name] = ref
    if not out:
        raise Invalid(
            "the profile holds no histogram or top values to compare with; profile a "
            "dataset with numeric or text columns (knot.profile_dataset)",
            field="reference",
        )
    return Reference(out, profile.rows)


def _from_column_profile(column: ColumnProfile) -> ColumnReference | None:
    if column.kind in PROFILE_NUMERIC and column.histogram is not None and column.count:
        h = column.histogram
        inner = np.asarray(h.edges, dtype=np.float64)
        counts = np.asarray(h.counts, dtype=np.int64)
        # the last histogram bin is closed on the right; its top edge moves up one ulp
        edges = np.concatenate([inner[:-1], [np.nextafter(inner[-1], np.inf)]])
        shares = np.concatenate([[0.0], np.cumsum(counts) / max(counts.sum(), 1)])
        if inner.size == 2 and inner[0] == inner[1]:
            cdf_x, cdf_f = np.array([inner[0], inner[0]]), np.array([0.0, 1.0])
        else:
            cdf_x, cdf_f = inner, shares
        return NumericBins(
            edges=edges,
            counts=np.concatenate([[0], counts, [0]]).astype(np.int64),
            cdf_x=cdf_x,
            cdf_f=cdf_f,
            std=float(column.std or 0.0),
            missing=column.nulls,
        )
    if column.kind in PROFILE_COUNTED and column.top:
        top = {t.value: t.count for t in column.top}
        other = column.count - sum(top.values())
        if other > 0:
            top[OTHER] = other
        return Categories(top, column.nulls)
    return None
