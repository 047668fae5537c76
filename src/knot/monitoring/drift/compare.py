"""One column's drift: pick the test (by sample size, as Evidently does), run it on the
reference and current values, and decide against the threshold.

Defaults, by the reference's count of values n: numeric columns use KS (p < 0.05)
while n <= 1000 and the normed Wasserstein distance (>= 0.1) beyond; categorical
columns, and numeric ones with at most 5 distinct values, use the two-sample
chi-square (p < 0.05) while n <= 1000 and the Jensen-Shannon distance (>= 0.1, natural
log) beyond. Binned tests on a numeric column use 10 quantile bins of the reference
(one bin per value when it has at most 10 values, plus open bins below and above them).

A distance (Wasserstein, Jensen-Shannon, PSI) counts as drift only when it reaches its
threshold *and* a two-sample test on the same data rejects at ALPHA (KS for
Wasserstein, the chi-square on the same bins for the others): with many categories or
few rows a distance reaches 0.1 by chance alone, and the test tells that noise from a
shift, so every default keeps its false-alarm rate at or below ALPHA whatever the
column's cardinality or the window's size. `p_value` is that test's for distances (for
Wasserstein on a sample, computed only once the distance reaches its threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from knot.errors import Invalid
from knot.monitoring.drift import binned, stats
from knot.monitoring.drift import caveats as warn
from knot.monitoring.drift.reference import OTHER, ColumnReference, NumericBins
from knot.monitoring.drift.report import ColumnDrift, Distribution
from knot.monitoring.drift.samples import Categories
from knot.monitoring.drift.stats import DEFAULT_THRESHOLDS, P_VALUE_TESTS, Sample

__all__ = [
    "ALPHA",
    "BINS",
    "SMALL",
    "Judged",
    "align_categories",
    "compare",
    "counts_drift",
    "default_test",
    "is_drifted",
    "judge_counts",
    "numeric_edges",
    "threshold_for",
]

SMALL = 1000
DISCRETE = 5
BINS = 10
ALPHA = 0.05  # the significance a distance must reach too before it counts as drift
PICTURE_BINS = 30
PICTURE_CATEGORIES = 20
NEW_SHOWN = 20
NUMERIC_ONLY = ("ks", "wasserstein")


def default_test(ref: ColumnReference) -> str:
    small = ref.n <= SMALL
    if isinstance(ref, Categories) or (isinstance(ref, Sample) and ref.distinct() <= DISCRETE):
        return "chisquare" if small else "jensenshannon"
    return "ks" if small else "wasserstein"


def is_drifted(test: str, statistic: float, p_value: float | None, threshold: float) -> bool:
    """p-value tests drift below their threshold; distances at or above it, when the
    two-sample test beside them (its `p_value`) rejects at ALPHA too."""
    if test in P_VALUE_TESTS:
        return p_value is not None and p_value < threshold
    return statistic >= threshold and (p_value is None or p_value < ALPHA)


@dataclass(frozen=True)
class Judged:
    """A binned test's verdicts over any leading axes, with the chi-square on the same
    counts (its pooling tells how sparse the bins were)."""

    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    drifted: NDArray[np.bool_]
    check: binned.Contingency


def judge_counts(test: str, reference: ArrayLike, current: ArrayLike, threshold: float) -> Judged:
    """chisquare, psi or jensenshannon on counts over the same bins (last axis), for
    one column or many windows at once."""
    check = binned.contingency(reference, current)
    if test == "chisquare":
        return Judged(check.statistic, check.p_value, check.p_value < threshold, check)
    if test == "psi":
        distance = binned.psi_many(reference, current)
    else:
        distance = binned.jensenshannon_many(reference, current)
    drifted = (distance >= threshold) & (check.p_value < ALPHA)
    return Judged(distance, check.p_value, drifted, check)


def threshold_for(name: str, test: str, threshold: float | None) -> float:
    limit = DEFAULT_THRESHOLDS[test] if threshold is None else float(threshold)
    if test in P_VALUE_TESTS and limit >= 1:
        raise Invalid(
            f"threshold for column {name!r} is a p-value for test {test!r} and must be "
            f"below 1, got {limit!r}",
            field="thresholds",
        )
    return limit


def numeric_edges(ref: Sample) -> NDArray[np.float64]:
    v = ref.values
    if ref.distinct() <= BINS:
        # a bin per value, from it up to the next one, and open bins below and above
        values = v[np.concatenate([[0], np.flatnonzero(v[1:] != v[:-1]) + 1])]
        return np.concatenate([values, [np.nextafter(values[-1], np.inf)]])
    return stats.quantile_edges(ref, BINS)


def align_categories(
    ref: Categories, cur: Categories
) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64], list[str]]:
    """Both sides' counts over the same keys: the reference's, then new ones (or, for a
    profile that kept only its top values, everything else in the other bucket)."""
    keys = list(ref.counts)
    incomplete = OTHER in ref.counts
    current = dict.fromkeys(keys, 0)
    new: list[str] = []
    for key, n in cur.counts.items():
        if key in current and key != OTHER:
            current[key] += n
        elif incomplete:
            current[OTHER] += n
        else:
            new.append(key)
            current[key] = n
    keys = list(current)
    r = np.array([ref.counts.get(k, 0) for k in keys], dtype=np.int64)
    c = np.array([current[k] for k in keys], dtype=np.int64)
    return keys, r, c, sorted(new)


def counts_drift(
    test: str, limit: float, r: NDArray[np.int64], c: NDArray[np.int64], common: dict[str, Any]
) -> ColumnDrift:
    """The ColumnDrift of a binned test on counts `r` and `c`; `common` holds the
    column, kind, counts and missing shares."""
    judged = judge_counts(test, r, c, limit)
    statistic, p = float(judged.statistic), float(judged.p_value)
    check = judged.check
    notes = [
        *warn.size_warnings(int(r.sum()), int(c.sum())),
        *warn.sparse_warnings(
            common["kind"],
            int(np.count_nonzero(r + c)),
            int(check.pooled),
            int(check.bins),
            int(r.sum()),
            int(c.sum()),
        ),
    ]
    if test not in P_VALUE_TESTS and statistic >= limit and p >= ALPHA:
        notes.append(warn.noise_warning(test, statistic, limit, p))
    return ColumnDrift(
        statistic=statistic,
        p_value=p,
        drifted=bool(judged.drifted),
        warnings=notes,
        **common,
    )


def compare(
    name: str,
    ref: ColumnReference,
    cur: Sample | Categories,
    test: str | None,
    threshold: float | None,
    rows: tuple[int, int],
) -> ColumnDrift:
    """The drift of one column; `rows` = (reference rows, current rows)."""
    kind = "numeric" if isinstance(cur, Sample) else "categorical"
    empty = ref.n == 0
    chosen = test or ("chisquare" if empty and kind == "categorical" else default_test(ref))
    if kind == "categorical" and chosen in NUMERIC_ONLY:
        raise Invalid(
            f"test {chosen!r} needs numbers but column {name!r} is categorical; use "
            "chisquare, psi or jensenshannon for it",
            field="tests",
        )
    limit = threshold_for(name, chosen, threshold)
    common: dict[str, Any] = {
        "column": name,
        "kind": kind,
        "test": chosen,
        "threshold": limit,
        "missing_share_ref": ref.missing / rows[0] if rows[0] else 0.0,
        "missing_share_cur": cur.missing / rows[1] if rows[1] else 0.0,
        "reference_count": ref.n,
        "current_count": cur.n,
    }
    if ref.n == 0 or cur.n == 0:  # a column that went (or was) all missing has drifted
        return ColumnDrift(
            statistic=None,
            drifted=(ref.n == 0) != (cur.n == 0),
            warnings=[warn.missing_warning(ref.n, cur.n, rows)],
            **common,
        )
    if isinstance(ref, Categories):
        if not isinstance(cur, Categories):
            raise Invalid(
                f"column {name!r} is categorical in the reference but numeric in the "
                "current data; cast one side so both hold the same kind of values",
                field=name,
            )
        keys, r, c, new = align_categories(ref, cur)
        column = counts_drift(chosen, limit, r, c, common)
        return column.model_copy(
            update={
                "new_categories": new[:NEW_SHOWN],
                "distribution": _category_picture(keys, r, c),
            }
        )
    assert isinstance(cur, Sample)
    return _numeric(chosen, limit, ref, cur, common)


def _numeric(
    test: str, limit: float, ref: Sample | NumericBins, cur: Sample, common: dict[str, Any]
) -> ColumnDrift:
    if isinstance(ref, NumericBins):
        picture = _bins_picture(ref, cur)
        cur_counts = stats.bin_counts(cur, ref.edges)
        approximate = test in NUMERIC_ONLY
        if test == "ks":
            result = stats.ks_to_cdf(ref.cdf_x, ref.cdf_f, ref.n, cur)
            statistic, p = result.statistic, result.p_value
        elif test == "wasserstein":
            w = stats.wasserstein_to_cdf(ref.cdf_x, ref.cdf_f, cur)
            # the histogram's bins are what the reference is known by: test on them
            statistic, p = w / max(ref.std, 0.001), stats.chisquare(ref.counts, cur_counts).p_value
        else:
            column = counts_drift(test, limit, ref.counts, cur_counts, common)
            return column.model_copy(update={"distribution": picture})
    else:
        picture = _sample_picture(ref, cur)
        approximate = False
        if test == "ks":
            result = stats.ks(ref, cur)
            statistic, p = result.statistic, result.p_value
        elif test == "wasserstein":
            statistic = stats.wasserstein_normed(ref, cur)
            # KS costs more than the distance; it can only matter once the threshold is met
            p = stats.ks(ref, cur).p_value if statistic >= limit else None
        else:
            edges = numeric_edges(ref)
            r, c = stats.bin_counts(ref, edges), stats.bin_counts(cur, edges)
            column = counts_drift(test, limit, r, c, common)
            return column.model_copy(update={"distribution": picture})
    notes = warn.size_warnings(ref.n, cur.n)
    if test == "wasserstein" and p is not None and statistic >= limit and p >= ALPHA:
        notes.append(warn.noise_warning(test, statistic, limit, p))
    return ColumnDrift(
        statistic=statistic,
        p_value=p,
        drifted=is_drifted(test, statistic, p, limit),
        approximate=approximate,
        distribution=picture,
        warnings=notes,
        **common,
    )


def _shares(counts: NDArray[np.generic], total: int) -> list[float]:
    return (np.asarray(counts, dtype=np.float64) / max(total, 1)).tolist()


def _sample_picture(ref: Sample, cur: Sample) -> Distribution:
    lo = min(ref.values[0], cur.values[0])
    hi = max(ref.values[-1], cur.values[-1])
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, PICTURE_BINS + 1)
    inner = np.concatenate([edges[1:-1], [np.inf]])
    r = stats.bin_counts(ref, inner)[:-1]
    c = stats.bin_counts(cur, inner)[:-1]
    return Distribution(
        edges=edges.tolist(), reference=_shares(r, ref.n), current=_shares(c, cur.n)
    )


def _bins_picture(ref: NumericBins, cur: Sample) -> Distribution:
    inner = stats.bin_counts(cur, ref.edges)[1:-1]
    return Distribution(
        edges=ref.cdf_x.tolist(),
        reference=_shares(ref.counts[1:-1], ref.n),
        current=_shares(inner, cur.n),
    )


def _category_picture(keys: list[str], r: NDArray[np.int64], c: NDArray[np.int64]) -> Distribution:
    ref_share = r / max(int(r.sum()), 1)
    cur_share = c / max(int(c.sum()), 1)
    order = np.argsort(-(ref_share + cur_share), kind="stable")[:PICTURE_CATEGORIES]
    return Distribution(
        categories=[keys[i] for i in order],
        reference=ref_share[order].tolist(),
        current=cur_share[order].tolist(),
    )
