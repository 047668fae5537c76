"""One column's drift: pick the test (by sample size, as Evidently does), run it on the
reference and current values, and decide against the threshold.

Defaults, by the reference's count of values n: numeric columns use KS (p < 0.05)
while n <= 1000 and the normed Wasserstein distance (>= 0.1) beyond; categorical
columns, and numeric ones with at most 5 distinct values, use chi-square (p < 0.05)
while n <= 1000 and the Jensen-Shannon distance (>= 0.1) beyond. Binned tests on a
numeric column use 10 quantile bins of the reference (one bin per value when it has
at most 10 values, plus open bins below and above them).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from knot.errors import Invalid
from knot.monitoring import stats
from knot.monitoring.drift_report import ColumnDrift, Distribution
from knot.monitoring.reference import OTHER, ColumnReference, NumericBins
from knot.monitoring.samples import Categories
from knot.monitoring.stats import DEFAULT_THRESHOLDS, P_VALUE_TESTS, Sample

__all__ = [
    "BINS",
    "SMALL",
    "align_categories",
    "binned_test",
    "compare",
    "default_test",
    "is_drifted",
    "numeric_edges",
]

SMALL = 1000
DISCRETE = 5
BINS = 10
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
    if test in P_VALUE_TESTS:
        return p_value is not None and p_value < threshold
    return statistic >= threshold


def binned_test(
    test: str, ref: NDArray[np.generic], cur: NDArray[np.generic]
) -> tuple[float, float | None]:
    if test == "psi":
        return stats.psi(ref, cur), None
    if test == "jensenshannon":
        return stats.jensenshannon(ref, cur), None
    result = stats.chisquare(ref, cur)
    return result.statistic, result.p_value


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


def compare(
    name: str,
    ref: ColumnReference,
    cur: Sample | Categories,
    test: str | None,
    threshold: float | None,
    rows: tuple[int, int],
) -> ColumnDrift:
    """The drift of one column; `rows` = (reference rows, current rows)."""
    kind = "categorical" if isinstance(ref, Categories) else "numeric"
    chosen = test or default_test(ref)
    if kind == "categorical" and chosen in NUMERIC_ONLY:
        raise Invalid(
            f"test {chosen!r} needs numbers but column {name!r} is categorical; use "
            "chisquare, psi or jensenshannon for it",
            field="tests",
        )
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else threshold
    if chosen in P_VALUE_TESTS and limit >= 1:
        raise Invalid(
            f"threshold for column {name!r} is a p-value for test {chosen!r} and must be "
            f"below 1, got {limit!r}",
            field="thresholds",
        )
    if ref.n == 0:
        raise Invalid(
            f"column {name!r} has no values in the reference (all {rows[0]} rows are "
            "missing); leave it out with columns=[...] or fix the reference",
            field="reference",
        )
    common = {
        "column": name,
        "kind": kind,
        "test": chosen,
        "threshold": limit,
        "missing_share_ref": ref.missing / rows[0] if rows[0] else 0.0,
        "missing_share_cur": cur.missing / rows[1] if rows[1] else 0.0,
        "reference_count": ref.n,
        "current_count": cur.n,
    }
    if cur.n == 0:  # a column that went all missing has drifted, whatever the test
        return ColumnDrift(statistic=None, drifted=True, **common)
    if isinstance(ref, Categories):
        assert isinstance(cur, Categories)
        keys, r, c, new = align_categories(ref, cur)
        statistic, p = binned_test(chosen, r, c)
        extra = {"new_categories": new[:NEW_SHOWN], "distribution": _category_picture(keys, r, c)}
    else:
        assert isinstance(cur, Sample)
        statistic, p, approximate, picture = _numeric(chosen, ref, cur)
        extra = {"approximate": approximate, "distribution": picture}
    return ColumnDrift(
        statistic=statistic,
        p_value=p,
        drifted=is_drifted(chosen, statistic, p, limit),
        **common,
        **extra,
    )


def _numeric(
    test: str, ref: Sample | NumericBins, cur: Sample
) -> tuple[float, float | None, bool, Distribution]:
    if isinstance(ref, NumericBins):
        picture = _bins_picture(ref, cur)
        if test == "ks":
            result = stats.ks_to_cdf(ref.cdf_x, ref.cdf_f, ref.n, cur)
            return result.statistic, result.p_value, True, picture
        if test == "wasserstein":
            w = stats.wasserstein_to_cdf(ref.cdf_x, ref.cdf_f, cur)
            return w / max(ref.std, 0.001), None, True, picture
        statistic, p = binned_test(test, ref.counts, stats.bin_counts(cur, ref.edges))
        return statistic, p, False, picture
    picture = _sample_picture(ref, cur)
    if test == "ks":
        result = stats.ks(ref, cur)
        return result.statistic, result.p_value, False, picture
    if test == "wasserstein":
        return stats.wasserstein_normed(ref, cur), None, False, picture
    edges = numeric_edges(ref)
    statistic, p = binned_test(test, stats.bin_counts(ref, edges), stats.bin_counts(cur, edges))
    return statistic, p, False, picture


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
