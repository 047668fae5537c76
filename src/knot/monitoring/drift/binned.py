"""Drift from counts over shared bins (categories, or numeric bins): the two-sample
chi-square test and the PSI and Jensen-Shannon distances.

Every function takes count arrays whose last axis is the bins and works over any
leading axes, so one call tests one column or thousands of windows at once.

- `contingency`: Pearson's chi-square test of homogeneity on the 2 x k table of
  reference and current counts, as `scipy.stats.chi2_contingency` (with its Yates
  correction when one degree of freedom is left).
  Both sides are samples, so sampling noise in the reference counts too (a
  goodness-of-fit test against the reference's shares does not, and raises false
  alarms). Before testing, bins whose smaller expected count is below 5 (Cochran's
  rule) are pooled into one bucket, and if that bucket is still below 5 the smallest
  remaining bin joins it; so a category seen on one side only never makes the
  statistic infinite, and the chi-square distribution holds. Pooling looks only at
  each bin's total over both sides, which does not depend on which side a value fell,
  so it keeps the test's level.
- `psi`: sum of (cur - ref) * ln(cur / ref) over bin shares; an empty bin's share is
  taken as EPSILON (1e-4), so a bin seen on one side only adds a large, finite term.
- `jensenshannon`: the Jensen-Shannon distance with natural logarithms (0 = same,
  sqrt(ln 2) ~ 0.833 = disjoint), as `scipy.spatial.distance.jensenshannon(p, q)` and
  as Evidently computes it, so Evidently's threshold (0.1) means the same here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EPSILON",
    "MIN_EXPECTED",
    "Contingency",
    "contingency",
    "jensenshannon",
    "jensenshannon_many",
    "psi",
    "psi_many",
]

EPSILON = 1e-4
MIN_EXPECTED = 5.0
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Contingency:
    """The chi-square test over the leading axes: statistic, p-value, degrees of
    freedom, `pooled` (how many non-empty bins expected fewer than 5 values on the
    smaller side, and went into the pooled bucket) and `bins` (buckets left to test)."""

    statistic: Floats
    p_value: Floats
    dof: NDArray[np.int64]
    pooled: NDArray[np.int64]
    bins: NDArray[np.int64]


def _pair(reference: ArrayLike, current: ArrayLike) -> tuple[Floats, Floats]:
    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(current, dtype=np.float64)
    if r.shape != c.shape or r.ndim == 0:
        raise ValueError(f"counts must have the same shape, got {r.shape} and {c.shape}")
    if np.any(r.sum(axis=-1) <= 0) or np.any(c.sum(axis=-1) <= 0):
        raise ValueError("counts must hold at least one value on each side")
    return r, c


def _rare(total: Floats, scale: Floats) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Which bins go into the pooled bucket, and how many non-empty bins were rare."""
    rare = total * scale < MIN_EXPECTED
    sparse = np.count_nonzero(rare & (total > 0), axis=-1)
    bucket = np.where(rare, total, 0.0).sum(axis=-1) * scale[..., 0]
    # a pooled bucket still too small takes in the smallest bin that was not rare
    kept = np.where(rare, np.inf, total)
    smallest = np.argmin(kept, axis=-1)[..., None]
    has_kept = np.isfinite(np.take_along_axis(kept, smallest, axis=-1))[..., 0]
    widen = (bucket > 0) & (bucket < MIN_EXPECTED) & has_kept
    rare |= (np.arange(rare.shape[-1]) == smallest) & widen[..., None]
    return rare, np.asarray(sparse, dtype=np.int64)


def contingency(reference: ArrayLike, current: ArrayLike) -> Contingency:
    """Two-sample chi-square over the last axis, rare bins pooled (see the module)."""
    from scipy.special import chdtrc  # the chi-square survival function, as a ufunc

    r, c = _pair(reference, current)
    n_ref = r.sum(axis=-1, keepdims=True)
    n_cur = c.sum(axis=-1, keepdims=True)
    n = n_ref + n_cur
    total = r + c
    rare, sparse = _rare(total, np.minimum(n_ref, n_cur) / n)
    kept = ~rare & (total > 0)
    pooled_r = np.where(rare, r, 0.0).sum(axis=-1)
    pooled_c = np.where(rare, c, 0.0).sum(axis=-1)
    pooled = pooled_r + pooled_c
    bins = np.count_nonzero(kept, axis=-1) + (pooled > 0)
    dof = np.maximum(bins - 1, 0)
    # observed minus expected is the same size on both sides of a bin: |r*C - c*R| / N,
    # and both sides' terms add up to gap^2 * N^2 / (total * R * C)
    gap = np.abs(r * n_cur - c * n_ref) / n
    pooled_gap = np.abs(pooled_r * n_cur[..., 0] - pooled_c * n_ref[..., 0]) / n[..., 0]
    # Yates' correction on 2 x 2 tables, whose Pearson statistic alone can reject up to
    # twice as often as its level at the smallest expected counts
    yates = dof == 1
    gap = np.where(yates[..., None], np.maximum(gap - 0.5, 0.0), gap)
    pooled_gap = np.where(yates, np.maximum(pooled_gap - 0.5, 0.0), pooled_gap)
    terms = np.where(kept, gap**2 / np.where(kept, total, 1.0), 0.0).sum(axis=-1)
    terms += np.where(pooled > 0, pooled_gap**2 / np.where(pooled > 0, pooled, 1.0), 0.0)
    statistic = np.where(dof > 0, terms * (n**2 / (n_ref * n_cur))[..., 0], 0.0)
    p = np.where(dof > 0, chdtrc(np.maximum(dof, 1), statistic), 1.0)
    return Contingency(
        statistic=np.asarray(statistic, dtype=np.float64),
        p_value=np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0),
        dof=np.asarray(dof, dtype=np.int64),
        pooled=sparse,
        bins=np.asarray(bins, dtype=np.int64),
    )


def psi_many(reference: ArrayLike, current: ArrayLike) -> Floats:
    """Population Stability Index over the last axis."""
    r, c = _pair(reference, current)
    r = r / r.sum(axis=-1, keepdims=True)
    c = c / c.sum(axis=-1, keepdims=True)
    r = np.where(r == 0, EPSILON, r)
    c = np.where(c == 0, EPSILON, c)
    return np.asarray(np.sum((c - r) * np.log(c / r), axis=-1), dtype=np.float64)


def psi(reference: ArrayLike, current: ArrayLike) -> float:
    """Population Stability Index of two count vectors over the same bins."""
    return float(psi_many(reference, current))


def jensenshannon_many(reference: ArrayLike, current: ArrayLike) -> Floats:
    """Jensen-Shannon distance (natural log) over the last axis."""
    from scipy.special import rel_entr

    r, c = _pair(reference, current)
    p = r / r.sum(axis=-1, keepdims=True)
    q = c / c.sum(axis=-1, keepdims=True)
    m = (p + q) / 2.0
    js = (rel_entr(p, m).sum(axis=-1) + rel_entr(q, m).sum(axis=-1)) / 2.0
    return np.asarray(np.sqrt(np.maximum(js, 0.0)), dtype=np.float64)


def jensenshannon(reference: ArrayLike, current: ArrayLike) -> float:
    """Jensen-Shannon distance (natural log) of two count vectors over the same bins."""
    return float(jensenshannon_many(reference, current))
