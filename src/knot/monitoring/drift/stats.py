"""Drift statistics, vectorised over NumPy: each one matches its SciPy reference.

Numeric tests take `Sample`s: a column's finite values sorted once, so the
Kolmogorov-Smirnov statistic, the Wasserstein distance and the quantile bins of the
Population Stability Index all come from the same sorted arrays by `searchsorted` and
index arithmetic, never another sort. Binned statistics (PSI, Jensen-Shannon,
chi-square) take counts, so they run the same from two samples, from a stored profile's
histogram or from counts accumulated over a stream.

- `ks`: two-sample Kolmogorov-Smirnov, two-sided, as `scipy.stats.ks_2samp(method=
  "auto")`: the exact p-value (computed by SciPy) while both samples hold at most
  10,000 values, Smirnov's asymptotic distribution (`kstwo`) beyond, and past an
  effective size of 20,000 its limit with Stephens' correction (`kolmogorov_sf`).
- `wasserstein`: the first Wasserstein distance, as `scipy.stats.wasserstein_distance`;
  `wasserstein_normed` divides it by the reference's standard deviation (at least
  0.001), as Evidently does, so one threshold fits every column.
- `psi`, `jensenshannon` (natural log, Evidently's scale) and `chisquare` (the
  two-sample test of homogeneity, rare bins pooled) come from counts: see
  knot.monitoring.drift.binned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from knot.monitoring.drift.binned import EPSILON, contingency, jensenshannon, psi

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EPSILON",
    "EXACT_KS_MAX",
    "P_VALUE_TESTS",
    "TESTS",
    "Sample",
    "TestResult",
    "bin_counts",
    "chisquare",
    "jensenshannon",
    "kolmogorov_sf",
    "ks",
    "ks_to_cdf",
    "psi",
    "quantile_edges",
    "wasserstein",
    "wasserstein_normed",
    "wasserstein_to_cdf",
]

TESTS = ("chisquare", "jensenshannon", "ks", "psi", "wasserstein")
P_VALUE_TESTS = frozenset({"chisquare", "ks"})
# p-value tests flag drift below their threshold, distances at or above it (Evidently's)
DEFAULT_THRESHOLDS = {
    "chisquare": 0.05,
    "jensenshannon": 0.1,
    "ks": 0.05,
    "psi": 0.1,
    "wasserstein": 0.1,
}
EXACT_KS_MAX = 10_000  # scipy.stats.ks_2samp's MAX_AUTO_N
EXACT_P_CACHED = 100_000
KOLMOGOROV_EXACT_MAX = 20_000
_EXACT_P: dict[tuple[int, int, int], float] = {}
Counts = NDArray[np.int64]


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float | None = None


@dataclass
class Sample:
    """The finite values of one numeric column, sorted once, and how many were missing
    (null or NaN)."""

    values: NDArray[np.float64]
    missing: int = 0
    _std: float | None = field(default=None, repr=False)
    _distinct: int | None = field(default=None, repr=False)

    @classmethod
    def of(cls, values: NDArray[np.generic] | list[float]) -> Sample:
        x = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(x)
        missing = int(x.size - np.count_nonzero(finite))
        sorted_ = np.sort(x[finite] if missing else x)
        return cls(sorted_, missing)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def std(self) -> float:
        if self._std is None:
            self._std = float(np.std(self.values)) if self.n else 0.0
        return self._std

    def distinct(self) -> int:
        if self._distinct is None:
            v = self.values
            self._distinct = int(np.count_nonzero(v[1:] != v[:-1]) + 1) if v.size else 0
        return self._distinct


def _cdf_at(sorted_: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    """The right-continuous empirical CDF of `sorted_` at `points`."""
    return np.searchsorted(sorted_, points, side="right") / sorted_.size


def _own_cdf(sorted_: NDArray[np.float64]) -> NDArray[np.float64]:
    """The empirical CDF of a sorted sample at its own values; without ties it is
    i / n, which saves a search."""
    n = sorted_.size
    if n > 1 and np.any(sorted_[1:] == sorted_[:-1]):
        return _cdf_at(sorted_, sorted_)
    return np.arange(1, n + 1, dtype=np.float64) / n


def ks(reference: Sample, current: Sample) -> TestResult:
    """Two-sample two-sided Kolmogorov-Smirnov: the largest gap between the empirical
    CDFs, found at the data points of both samples."""
    x, y = reference.values, current.values
    if x.size == 0 or y.size == 0:
        raise ValueError("ks needs values on both sides")
    d = max(
        float(np.max(np.abs(_own_cdf(x) - _cdf_at(y, x)))),
        float(np.max(np.abs(_cdf_at(x, y) - _own_cdf(y)))),
    )
    return TestResult(d, _ks_p_value(d, x, y))


def _ks_p_value(d: float, x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    from scipy import stats

    if max(x.size, y.size) <= EXACT_KS_MAX:
        # small samples: SciPy's own exact path counting. Its p-value depends only on the
        # sizes and the statistic (a whole number of 1/(n1*n2)), so windows of one size
        # share them, and a monitor re-testing such windows pays for each p-value once.
        key = (x.size, y.size, round(d * x.size * y.size))
        p = _EXACT_P.get(key)
        if p is None:
            p = float(stats.ks_2samp(x, y, method="auto").pvalue)
            if len(_EXACT_P) < EXACT_P_CACHED:
                _EXACT_P[key] = p
        return p
    return kolmogorov_sf(d, x.size, y.size)


def kolmogorov_sf(d: float, n1: int, n2: int) -> float:
    """The asymptotic two-sample p-value of a KS statistic d: Smirnov's distribution
    `kstwo` at the effective size n1*n2/(n1+n2), as SciPy, up to KOLMOGOROV_EXACT_MAX;
    beyond, the limit distribution with Stephens' correction, d*(sqrt(n) + 0.12 +
    0.11/sqrt(n)), which agrees to 0.01% at p = 0.05 there while `kstwo` takes a
    third of a second per column at a million rows."""
    from scipy import stats

    en = float(np.round(n1 * n2 / (n1 + n2)))
    if en <= KOLMOGOROV_EXACT_MAX:
        p = float(stats.kstwo.sf(d, en))
    else:
        root = float(np.sqrt(en))
        p = float(stats.kstwobign.sf(d * (root + 0.12 + 0.11 / root)))
    return float(np.clip(p, 0.0, 1.0))


def wasserstein(reference: Sample, current: Sample) -> float:
    """W1 = the integral of |Qr(u) - Qc(u)| over u in (0, 1), with Q the quantile
    functions: equal sizes pair sorted values; otherwise the breakpoints i/n1 and j/n2
    are merged in integer units of 1/(n1*n2) (a merge of two sorted runs)."""
    x, y = reference.values, current.values
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        raise ValueError("wasserstein needs values on both sides")
    if n1 == n2:
        return float(np.mean(np.abs(x - y)))
    u = np.concatenate(
        [np.arange(1, n1 + 1, dtype=np.int64) * n2, np.arange(1, n2 + 1, dtype=np.int64) * n1]
    )
    u.sort(kind="stable")
    lo = np.concatenate([np.zeros(1, dtype=np.int64), u[:-1]])
    mid2 = lo + u  # twice the midpoint of each interval
    ix = np.minimum(mid2 // (2 * n2), n1 - 1)
    iy = np.minimum(mid2 // (2 * n1), n2 - 1)
    return float(np.dot(u - lo, np.abs(x[ix] - y[iy])) / (float(n1) * float(n2)))


def wasserstein_normed(reference: Sample, current: Sample) -> float:
    return wasserstein(reference, current) / max(reference.std, 0.001)


def quantile_edges(reference: Sample, bins: int = 10) -> NDArray[np.float64]:
    """Interior cut points at the reference's 1/bins, ..., (bins-1)/bins quantiles
    (linear interpolation, as np.quantile), duplicates dropped: bin i holds edges[i-1]
    <= x < edges[i], the outer bins are open."""
    x = reference.values
    if x.size == 0:
        return np.empty(0)
    pos = np.arange(1, bins) / bins * (x.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, x.size - 1)
    edges = x[lo] + (x[hi] - x[lo]) * (pos - lo)
    return np.unique(edges)


def bin_counts(sample: Sample, edges: NDArray[np.float64]) -> Counts:
    """Counts of a sorted sample in the bins `edges` cut (len(edges) + 1 bins)."""
    cuts = np.searchsorted(sample.values, edges, side="left")
    return np.diff(np.concatenate([[0], cuts, [sample.n]])).astype(np.int64)


def chisquare(reference: NDArray[np.generic], current: NDArray[np.generic]) -> TestResult:
    """The two-sample chi-square of reference and current counts over the same bins,
    rare bins pooled (knot.monitoring.drift.binned.contingency)."""
    test = contingency(reference, current)
    return TestResult(float(test.statistic), float(test.p_value))


def _cdf_points(
    cdf_x: NDArray[np.float64], current: Sample
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    points = np.sort(np.concatenate([cdf_x, current.values]), kind="stable")
    return (
        points,
        _cdf_at(current.values, points),
        np.searchsorted(current.values, points, side="left") / current.n,
    )


def ks_to_cdf(
    cdf_x: NDArray[np.float64], cdf_f: NDArray[np.float64], n_reference: int, current: Sample
) -> TestResult:
    """Kolmogorov-Smirnov of a sample against a reference known only by a piecewise
    linear CDF through (cdf_x, cdf_f), e.g. a stored histogram: an approximation (the
    reference is taken as uniform inside each bin) with the asymptotic p-value."""

    if current.n == 0:
        raise ValueError("ks needs current values")
    points, right, left = _cdf_points(cdf_x, current)
    ref = np.interp(points, cdf_x, cdf_f)
    d = float(max(np.max(np.abs(ref - right)), np.max(np.abs(ref - left))))
    return TestResult(d, kolmogorov_sf(d, n_reference, current.n))


def wasserstein_to_cdf(
    cdf_x: NDArray[np.float64], cdf_f: NDArray[np.float64], current: Sample
) -> float:
    """W1 = the integral of |Fr - Fc| dx with Fr piecewise linear through (cdf_x, cdf_f)
    and Fc the sample's step CDF, exact for that Fr (segment by segment)."""
    if current.n == 0:
        raise ValueError("wasserstein needs current values")
    points, right, _ = _cdf_points(cdf_x, current)
    ref = np.interp(points, cdf_x, cdf_f)
    dx = np.diff(points)
    a, b = ref[:-1] - right[:-1], ref[1:] - right[:-1]
    same_sign = a * b >= 0
    span = np.where(same_sign, 1.0, np.abs(a - b))
    area = np.where(
        same_sign,
        (np.abs(a) + np.abs(b)) / 2.0,
        (a * a + b * b) / (2.0 * np.where(span > 0, span, 1.0)),
    )
    return float(np.dot(dx, area))
