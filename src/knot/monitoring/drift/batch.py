"""`knot.drift(reference, current)`: per-column data drift, dataset drift and prediction
drift between two tables.

Each column runs as one task on a thread pool as wide as the machine: the work is
NumPy sorting and searching and Arrow hashing, which release the GIL, so columns run
side by side on every core. A column named `prediction` present on both sides is
reported apart, as `DriftReport.prediction`, and does not count towards the share of
drifted columns. See knot.monitoring.drift.compare for how tests are chosen and
knot.monitoring.drift.reference for references built from stored profiles.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from knot.errors import Invalid
from knot.monitoring.drift.compare import compare
from knot.monitoring.drift.reference import (
    ColumnReference,
    Reference,
    column_reference,
    reference_from_profile,
)
from knot.monitoring.drift.report import PREDICTION, ColumnDrift, DriftReport
from knot.monitoring.drift.samples import (
    Family,
    category_counts,
    family,
    load_table,
    numeric_sample,
    text_example,
)
from knot.monitoring.drift.stats import TESTS

__all__ = ["PREDICTION", "Reference", "drift", "reference_from_profile"]

PROFILE_SCHEME = "profile:"


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    workers: int | None = None,
) -> DriftReport:
    """Compare `current` with `reference` column by column.

    Args:
        reference: a DataFrame, Arrow table, dataset URI ("dataset:churn@3"),
            Parquet/CSV path, a stored `Profile` (or "profile:churn@3", the stored
            profile of that version), or a `Reference` built once
            (Reference.from_source / reference_from_profile) for many windows.
        current: a DataFrame, Arrow table, dataset URI or Parquet/CSV path; a
            prediction log window's `features` struct is read as its columns.
        columns: the columns to compare (default: every comparable column of
            `current`, each of which the reference must have).
        tests: column -> "ks", "psi", "wasserstein", "jensenshannon" or "chisquare",
            overriding the default chosen by sample size.
        thresholds: column -> threshold: a p-value below it (ks, chisquare) or a
            distance at or above it (the others) means drift; a distance counts only
            when the two-sample test beside it (KS, or the chi-square on the same bins)
            rejects at 0.05 too, so chance alone does not reach it (see
            knot.monitoring.drift.compare).
        drift_share: the dataset drifted when at least this share of columns did.
        workers: threads to use (default: one per core).
    """
    if not (isinstance(drift_share, int | float) and 0 < drift_share <= 1):
        raise Invalid(
            f"drift_share must be a share in (0, 1], got {drift_share!r}", field="drift_share"
        )
    cur = load_table(current, "current")
    ref = _reference(reference)
    names = _names(columns, cur, ref)
    tests = dict(tests or {})
    thresholds = dict(thresholds or {})
    _check_overrides(names, tests, thresholds)
    if cur.num_rows == 0:
        raise Invalid("current has no rows; pass a window that holds data", field="current")
    rows = (ref.rows, cur.num_rows)
    if rows[0] == 0:
        raise Invalid("reference has no rows; pass a reference that holds data", field="reference")

    where = {name: i for i, name in enumerate(cur.column_names)}

    def one(name: str) -> ColumnDrift:
        column = cur.column(where[name])
        ref_column = ref.column(name)
        # an all-null (untyped) side takes the other side's kind
        kind = family(column.type) or ref.family(name)
        current_values = numeric_sample(column) if kind == "numeric" else category_counts(column)
        return compare(
            name, ref_column, current_values, tests.get(name), thresholds.get(name), rows
        )

    width = max(1, min(len(names), workers or os.cpu_count() or 1))
    if width == 1:
        results = [one(n) for n in names]
    else:
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="knot-drift") as pool:
            results = list(pool.map(one, names))
    return DriftReport.of(
        results,
        drift_share=float(drift_share),
        reference_rows=rows[0],
        current_rows=rows[1],
    )


class _TableReference:
    """A reference table read column by column, each inside its own task."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.rows = table.num_rows
        # by position: a lookup by name scans every field, which wide tables feel
        self._index = {name: i for i, name in enumerate(table.column_names)}

    def names(self) -> list[str]:
        return self.table.column_names

    def _type(self, name: str) -> pa.DataType:
        return self.table.schema.field(self._index[name]).type

    def family(self, name: str) -> Family | None:
        return family(self._type(name))

    def untyped(self, name: str) -> bool:
        return pa.types.is_null(self._type(name))

    def column(self, name: str) -> ColumnReference:
        found = column_reference(self.table.column(self._index[name]))
        assert found is not None  # _names let only comparable columns through
        return found


def _reference(reference: Any) -> Reference | _TableReference:
    from knot.data.profile import Profile

    if isinstance(reference, Reference):
        return reference
    if isinstance(reference, Profile):
        return reference_from_profile(reference)
    if isinstance(reference, str) and reference.startswith(PROFILE_SCHEME):
        from knot.tracking.datasets import profile_dataset

        ref = reference[len(PROFILE_SCHEME) :]
        if not ref:
            raise Invalid(
                f"reference {reference!r} names no dataset; write profile:NAME@VERSION",
                field="reference",
            )
        return reference_from_profile(profile_dataset(ref))
    return _TableReference(load_table(reference, "reference"))


def _names(
    columns: Sequence[str] | None, cur: pa.Table, ref: Reference | _TableReference
) -> list[str]:
    ref_names = ref.names()
    types = dict(zip(cur.column_names, cur.schema.types, strict=True))
    if columns is None:
        names = [n for n, t in types.items() if _comparable(t)]
    else:
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise Invalid(
                f"columns must be a list of column names, got {columns!r}", field="columns"
            )
        names = list(dict.fromkeys(columns))
    if not names:
        raise Invalid(
            "there are no numeric or categorical columns to compare; pass columns=[...]",
            field="columns",
        )
    current_names, reference_names = set(cur.column_names), set(ref_names)
    for name in names:
        if name not in current_names:
            raise Invalid(
                f"column {name!r} is not in the current data (it has "
                f"{cur.column_names[:20]}); fix the name or leave it out of columns",
                field="columns",
            )
        cur_type = types[name]
        if not _comparable(cur_type):
            raise Invalid(
                f"column {name!r} is {cur_type} in the current data, "
                "which drift cannot compare; leave it out of columns",
                field="columns",
            )
        if name not in reference_names:
            raise Invalid(
                f"column {name!r} is in the current data but not in the reference; pass "
                "columns=[...] naming only columns both sides have",
                field="columns",
            )
        ref_kind, cur_kind = ref.family(name), family(cur_type)
        if ref_kind is None and not ref.untyped(name):
            raise Invalid(
                f"column {name!r} is not comparable in the reference (neither numbers nor "
                "categories); leave it out of columns",
                field=name,
            )
        if ref_kind is not None and cur_kind is not None and ref_kind != cur_kind:
            example = text_example(cur.column(name)) if ref_kind == "numeric" else None
            raise Invalid(
                f"column {name!r} is {ref_kind} in the reference but {cur_kind} in the "
                "current data"
                + (f" (it holds text such as {example!r})" if example is not None else "")
                + "; cast one side so both hold the same kind of values",
                field=name,
            )
    return names


def _comparable(t: pa.DataType) -> bool:
    """Numbers, categories, or a column with no values at all (Arrow's null type)."""
    return family(t) is not None or pa.types.is_null(t)


def _check_overrides(names: list[str], tests: dict[str, str], thresholds: dict[str, float]) -> None:
    for kind, given in (("tests", tests), ("thresholds", thresholds)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise Invalid(
                f"{kind} name columns that are not compared: {unknown}; compared columns "
                f"are {names[:20]}",
                field=kind,
            )
    for name, test in tests.items():
        if test not in TESTS:
            raise Invalid(
                f"test {test!r} for column {name!r} is not known; use one of {list(TESTS)}",
                field="tests",
            )
    for name, value in thresholds.items():
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise Invalid(
                f"threshold for column {name!r} must be a positive number, got {value!r}",
                field="thresholds",
            )
