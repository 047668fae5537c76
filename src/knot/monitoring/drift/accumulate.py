"""Streaming drift: counts of current values over a reference's bins, per column,
added batch by batch and merged across windows (mergeable histograms), so a
prediction log is read in chunks and never whole.

Only binned statistics come from counts: PSI, Jensen-Shannon and chi-square, the same
functions and verdicts as `knot.drift` (knot.monitoring.drift.compare.counts_drift). The
default is PSI (>= 0.1) for numeric columns, over 10 quantile bins of a sampled
reference or a profile's histogram bins, and, for categorical ones, the two-sample
chi-square (p < 0.05) up to 1,000 reference values and Jensen-Shannon (>= 0.1) beyond;
a distance counts only when the chi-square on the same counts rejects at 0.05 too. KS
and Wasserstein need the samples themselves: run `knot.drift` over the window for them.

    acc = DriftAccumulator(Reference.from_source("dataset:churn@3"))
    for batch in dataset.to_batches(columns=["features", "prediction"]):
        acc.update(batch)
    report = acc.report()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from knot.errors import Invalid
from knot.monitoring.drift import caveats as warn
from knot.monitoring.drift import stats
from knot.monitoring.drift.compare import (
    SMALL,
    align_categories,
    counts_drift,
    numeric_edges,
    threshold_for,
)
from knot.monitoring.drift.reference import NumericBins, Reference, reference_from_profile
from knot.monitoring.drift.report import ColumnDrift, Distribution, DriftReport
from knot.monitoring.drift.samples import (
    Categories,
    as_float64,
    category_counts,
    family,
    load_table,
)
from knot.monitoring.drift.stats import Sample

__all__ = ["BINNED_TESTS", "DriftAccumulator"]

BINNED_TESTS = ("chisquare", "jensenshannon", "psi")


@dataclass(frozen=True)
class _Bins:
    """A numeric column's reference bins: cut points, reference counts, and finite
    edges for the picture of bins[shown]."""

    edges: NDArray[np.float64]
    counts: NDArray[np.int64]
    picture_edges: NDArray[np.float64]
    shown: slice
    missing: int


def _bins(ref: Sample | NumericBins) -> _Bins:
    if isinstance(ref, NumericBins):
        return _Bins(ref.edges, ref.counts, ref.cdf_x, slice(1, -1), ref.missing)
    edges = numeric_edges(ref)
    picture = np.concatenate([[ref.values[0]], edges, [ref.values[-1]]])
    return _Bins(edges, stats.bin_counts(ref, edges), picture, slice(None), ref.missing)


class DriftAccumulator:
    """Current-window counts over a reference's bins; `update` adds a batch, `merge`
    adds another accumulator over the same reference, `report` gives the drift."""

    def __init__(self, reference: Any, columns: Sequence[str] | None = None) -> None:
        from knot.data.profile import Profile

        if isinstance(reference, Profile):
            reference = reference_from_profile(reference)
        elif not isinstance(reference, Reference):
            reference = Reference.from_source(reference, columns)
        names = list(columns) if columns is not None else list(reference.columns)
        missing = [n for n in names if n not in reference.columns]
        if missing:
            raise Invalid(
                f"columns {missing} are not in the reference; leave them out of columns",
                field="columns",
            )
        self.reference = reference
        self._numeric = {
            n: _bins(r) for n in names if not isinstance(r := reference.columns[n], Categories)
        }
        self._categorical = {
            n: r for n in names if isinstance(r := reference.columns[n], Categories)
        }
        self.rows = 0
        self._counts = {
            n: np.zeros(b.counts.size, dtype=np.int64) for n, b in self._numeric.items()
        }
        self._categories: dict[str, dict[str, int]] = {n: {} for n in self._categorical}
        self._missing = dict.fromkeys(names, 0)

    @property
    def columns(self) -> list[str]:
        return list(self._missing)

    def window(self) -> DriftAccumulator:
        """An empty accumulator over the same reference bins (a new window)."""
        fresh = object.__new__(DriftAccumulator)
        fresh.reference = self.reference
        fresh._numeric, fresh._categorical = self._numeric, self._categorical
        fresh.rows = 0
        fresh._counts = {n: np.zeros_like(c) for n, c in self._counts.items()}
        fresh._categories = {n: {} for n in self._categories}
        fresh._missing = dict.fromkeys(self._missing, 0)
        return fresh

    def update(self, batch: Any) -> DriftAccumulator:
        """Count one batch (Arrow record batch or table, DataFrame; a `features`
        struct is read as its columns)."""
        table = load_table(batch, "current")
        # every column is checked before any is counted, so a bad batch changes nothing;
        # columns are found by position (a lookup by name scans every field)
        where = {name: i for i, name in enumerate(table.column_names)}
        types = table.schema.types
        for name in self._missing:
            if name not in where:
                raise Invalid(
                    f"column {name!r} is not in the batch (it has {table.column_names[:20]}); "
                    "pass batches holding every accumulated column",
                    field="columns",
                )
            column_type = types[where[name]]
            expected = "categorical" if name in self._categorical else "numeric"
            # all-null batches (Arrow's null type) and references with no values fit any kind
            if pa.types.is_null(column_type) or self.reference.untyped(name):
                continue
            if family(column_type) != expected:
                raise Invalid(
                    f"column {name!r} is {column_type} in the batch but {expected} in the "
                    "reference; cast it so both hold the same kind of values",
                    field=name,
                )
        for name in self._missing:
            column = table.column(where[name])
            if name in self._numeric and not pa.types.is_null(column.type):
                self._count_numeric(name, column)
            elif name in self._numeric:
                self._missing[name] += len(column)
            else:
                got = category_counts(column)
                into = self._categories[name]
                for key, n in got.counts.items():
                    into[key] = into.get(key, 0) + n
                self._missing[name] += got.missing
        self.rows += table.num_rows
        return self

    def _count_numeric(self, name: str, column: pa.ChunkedArray) -> None:
        x = as_float64(column)
        finite = np.isfinite(x)
        kept = x[finite]
        bins = self._numeric[name]
        index = np.searchsorted(bins.edges, kept, side="right")
        self._counts[name] += np.bincount(index, minlength=bins.counts.size)
        self._missing[name] += int(x.size - kept.size)

    def merge(self, other: DriftAccumulator) -> DriftAccumulator:
        """Add `other`'s counts (over the same reference bins) into this one."""
        if other._numeric is not self._numeric or other._categorical is not self._categorical:
            raise Invalid(
                "accumulators over different references cannot be merged; make windows "
                "with DriftAccumulator.window() from one accumulator",
                field="other",
            )
        for name, counts in other._counts.items():
            self._counts[name] += counts
        for name, cats in other._categories.items():
            into = self._categories[name]
            for key, n in cats.items():
                into[key] = into.get(key, 0) + n
        for name, n in other._missing.items():
            self._missing[name] += n
        self.rows += other.rows
        return self

    def report(
        self,
        *,
        tests: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
        drift_share: float = 0.5,
    ) -> DriftReport:
        """The drift of the counted window against the reference, from counts alone."""
        if self.rows == 0:
            raise Invalid("no rows were counted; update the accumulator with a batch first")
        tests, thresholds = dict(tests or {}), dict(thresholds or {})
        for name, test in tests.items():
            if name not in self._missing:
                raise Invalid(
                    f"tests name column {name!r}, which is not accumulated", field="tests"
                )
            if test not in BINNED_TESTS:
                raise Invalid(
                    f"test {test!r} for column {name!r} cannot run from counts; use one of "
                    f"{list(BINNED_TESTS)} here, or knot.drift over the window's rows for "
                    "ks and wasserstein",
                    field="tests",
                )
        results = [self._column(n, tests.get(n), thresholds.get(n)) for n in self._missing]
        return DriftReport.of(
            results,
            drift_share=drift_share,
            reference_rows=self.reference.rows,
            current_rows=self.rows,
        )

    def _column(self, name: str, test: str | None, threshold: float | None) -> ColumnDrift:
        if name in self._numeric:
            bins = self._numeric[name]
            ref_counts, cur_counts = bins.counts, self._counts[name]
            chosen, kind = test or "psi", "numeric"
            new: list[str] = []
            shown = bins.shown
            picture = Distribution(
                edges=bins.picture_edges.tolist(),
                reference=_shares(ref_counts)[shown].tolist(),
                current=_shares(cur_counts)[shown].tolist(),
            )
            ref_missing = bins.missing
        else:
            ref = self._categorical[name]
            current = Categories(self._categories[name], self._missing[name])
            keys, ref_counts, cur_counts, new = align_categories(ref, current)
            chosen = test or ("chisquare" if ref.n <= SMALL else "jensenshannon")
            kind = "categorical"
            picture = Distribution(
                categories=keys[:20],
                reference=_shares(ref_counts)[:20].tolist(),
                current=_shares(cur_counts)[:20].tolist(),
            )
            ref_missing = ref.missing
        limit = threshold_for(name, chosen, threshold)
        if not limit > 0:
            raise Invalid(
                f"threshold for column {name!r} must be positive, got {threshold!r}",
                field="thresholds",
            )
        n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
        rows = (self.reference.rows, self.rows)
        common: dict[str, Any] = {
            "column": name,
            "kind": kind,
            "test": chosen,
            "threshold": limit,
            "missing_share_ref": ref_missing / rows[0] if rows[0] else 0.0,
            "missing_share_cur": self._missing[name] / rows[1],
            "reference_count": n_ref,
            "current_count": n_cur,
            "new_categories": new[:20],
        }
        if n_ref == 0 or n_cur == 0:
            return ColumnDrift(
                statistic=None,
                drifted=(n_ref == 0) != (n_cur == 0),
                warnings=[warn.missing_warning(n_ref, n_cur, rows)],
                **common,
            )
        column = counts_drift(chosen, limit, ref_counts, cur_counts, common)
        return column.model_copy(update={"distribution": picture})


def _shares(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    return counts / max(int(counts.sum()), 1)
