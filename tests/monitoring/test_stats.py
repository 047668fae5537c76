"""Each drift statistic against SciPy's reference value, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_js

from knot.monitoring.drift.binned import contingency, jensenshannon_many, psi_many
from knot.monitoring.drift.stats import (
    EPSILON,
    Sample,
    bin_counts,
    chisquare,
    jensenshannon,
    kolmogorov_sf,
    ks,
    ks_to_cdf,
    psi,
    quantile_edges,
    wasserstein,
    wasserstein_normed,
    wasserstein_to_cdf,
)

SIZES = [(5, 7), (200, 200), (1000, 333), (9_000, 10_000), (30_000, 12_345)]


def _pair(n1: int, n2: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=n1), rng.normal(0.05, 1.1, size=n2)


@pytest.mark.parametrize(("n1", "n2"), SIZES)
def test_ks_matches_scipy(n1: int, n2: int) -> None:
    x, y = _pair(n1, n2)
    ours = ks(Sample.of(x), Sample.of(y))
    ref = stats.ks_2samp(x, y)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 8, size=20_000).astype(float)
    y = rng.integers(0, 9, size=15_000).astype(float)
    ours = ks(Sample.of(x), Sample.of(y))
    ref = stats.ks_2samp(x, y)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("n1", "n2"), [*SIZES, (1, 3)])
def test_wasserstein_matches_scipy(n1: int, n2: int) -> None:
    x, y = _pair(n1, n2, seed=1)
    assert wasserstein(Sample.of(x), Sample.of(y)) == pytest.approx(
        stats.wasserstein_distance(x, y), rel=1e-9
    )
    assert wasserstein_normed(Sample.of(x), Sample.of(y)) == pytest.approx(
        stats.wasserstein_distance(x, y) / max(np.std(x), 0.001), rel=1e-9
    )


def test_sample_drops_missing_values() -> None:
    s = Sample.of([3.0, np.nan, 1.0, np.inf, 2.0])
    assert s.values.tolist() == [1.0, 2.0, 3.0]
    assert s.missing == 2
    assert s.distinct() == 3


def test_quantile_edges_match_numpy_and_counts_match_histogram() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=5001), rng.normal(0.3, size=4000)
    edges = quantile_edges(Sample.of(x), 10)
    np.testing.assert_allclose(edges, np.quantile(x, np.arange(1, 10) / 10))
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    np.testing.assert_array_equal(bin_counts(Sample.of(y), edges), np.histogram(y, full)[0])
    assert bin_counts(Sample.of(x), edges).sum() == x.size


def test_psi_matches_the_formula() -> None:
    ref = np.array([10, 20, 30, 40])
    cur = np.array([15, 25, 0, 60])
    r, c = ref / ref.sum(), cur / cur.sum()
    c = np.where(c == 0, EPSILON, c)
    assert psi(ref, cur) == pytest.approx(np.sum((c - r) * np.log(c / r)))
    assert psi(ref, ref * 3) == pytest.approx(0.0)


def test_jensenshannon_is_on_evidentlys_natural_log_scale() -> None:
    ref = np.array([5, 0, 10, 3])
    cur = np.array([1, 7, 2, 0])
    # scipy's default base is e, as Evidently calls it; base 2 would read 1.2x higher
    assert jensenshannon(ref, cur) == pytest.approx(scipy_js(ref, cur))
    assert jensenshannon(ref, cur) == pytest.approx(scipy_js(ref, cur, base=2) * np.sqrt(np.log(2)))
    assert jensenshannon([1, 0], [0, 1]) == pytest.approx(np.sqrt(np.log(2)))


def test_chisquare_is_the_two_sample_test_of_homogeneity() -> None:
    ref = np.array([500, 300, 200])
    cur = np.array([60, 25, 15])
    ours = chisquare(ref, cur)
    theirs = stats.chi2_contingency(np.array([ref, cur]), correction=False)
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue)


def test_rare_categories_are_pooled_so_a_new_one_is_finite() -> None:
    # "new" was never seen in the reference: its expected count is 0.5 on the smaller side
    ref, cur = np.array([100, 80, 0]), np.array([50, 40, 1])
    result = chisquare(ref, cur)
    assert np.isfinite(result.statistic) and result.p_value > 0.5
    pooled = contingency(ref, cur)
    # the pooled bucket (1 value) is still below 5 expected, so the smallest kept bin joins
    # it: two buckets are left, one degree of freedom
    assert pooled.pooled == 1 and pooled.bins == 2 and pooled.dof == 1
    theirs = stats.chi2_contingency(np.array([[100, 80], [50, 41]]))  # Yates: 2 x 2
    assert result.statistic == pytest.approx(theirs.statistic)
    assert result.p_value == pytest.approx(theirs.pvalue)
    # too few values for any bin: one bucket, nothing to test
    nothing = chisquare(np.array([3, 1]), np.array([1, 2]))
    assert (nothing.statistic, nothing.p_value) == (0.0, 1.0)


def test_many_windows_at_once_equal_one_by_one() -> None:
    rng = np.random.default_rng(8)
    r = rng.integers(0, 30, size=(50, 12))
    c = rng.integers(0, 30, size=(50, 12))
    r[:, 0] += 1
    c[:, 0] += 1
    many = contingency(r, c)
    for i in range(50):
        one = chisquare(r[i], c[i])
        assert many.statistic[i] == pytest.approx(one.statistic)
        assert many.p_value[i] == pytest.approx(one.p_value)
    pairs = list(zip(r, c, strict=True))
    np.testing.assert_allclose(jensenshannon_many(r, c), [jensenshannon(a, b) for a, b in pairs])
    np.testing.assert_allclose(psi_many(r, c), [psi(a, b) for a, b in pairs])


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 60), elements=finite),
    arrays(np.float64, st.integers(1, 60), elements=finite),
)
def test_ks_and_wasserstein_agree_with_scipy_on_any_sample(x: np.ndarray, y: np.ndarray) -> None:
    a, b = Sample.of(x), Sample.of(y)
    assert ks(a, b).statistic == pytest.approx(stats.ks_2samp(x, y).statistic, abs=1e-12)
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-7, abs=1e-6)
    assert wasserstein(a, b) == pytest.approx(wasserstein(b, a), rel=1e-9, abs=1e-9)


counts = arrays(np.int64, 6, elements=st.integers(0, 1000)).filter(lambda c: c.sum() > 0)


@settings(max_examples=80, deadline=None)
@given(counts, counts)
def test_binned_distances_are_bounded_and_symmetric(r: np.ndarray, c: np.ndarray) -> None:
    js = jensenshannon(r, c)
    assert 0.0 <= js <= np.sqrt(np.log(2)) + 1e-12
    assert js == pytest.approx(jensenshannon(c, r), abs=1e-12)
    assert js == pytest.approx(scipy_js(r, c), abs=1e-9)
    chi = chisquare(r, c)
    assert 0.0 <= chi.p_value <= 1.0 and np.isfinite(chi.statistic)
    back = chisquare(c, r)
    assert chi.statistic == pytest.approx(back.statistic, rel=1e-9, abs=1e-12)
    assert chi.p_value == pytest.approx(back.p_value, rel=1e-9, abs=1e-300)
    assert psi(r, c) >= -1e-12
    assert psi(r, c) == pytest.approx(psi(c, r), rel=1e-9, abs=1e-12)
    assert psi(r, r) == pytest.approx(0.0, abs=1e-12)


def test_statistics_against_a_histogram_cdf_approach_the_exact_ones() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=50_000), rng.normal(0.3, 1.0, size=20_000)
    counts, edges = np.histogram(x, bins=400)
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    exact_ks = stats.ks_2samp(x, y)
    approx = ks_to_cdf(edges, cdf, x.size, Sample.of(y))
    assert approx.statistic == pytest.approx(exact_ks.statistic, abs=0.005)
    assert approx.p_value is not None and approx.p_value < 1e-10
    assert wasserstein_to_cdf(edges, cdf, Sample.of(y)) == pytest.approx(
        stats.wasserstein_distance(x, y), rel=0.02
    )
    # a sample against its own histogram is close to zero distance
    assert wasserstein_to_cdf(edges, cdf, Sample.of(x)) < 0.01


@pytest.mark.parametrize("n", [20_001, 50_000, 500_000])
def test_large_sample_ks_p_values_agree_with_smirnovs_distribution(n: int) -> None:
    for p in (0.5, 0.05, 0.01, 1e-6):
        d = stats.kstwo.isf(p, n)
        # equal sizes 2n give the effective size n
        assert kolmogorov_sf(d, 2 * n, 2 * n) == pytest.approx(p, rel=0.02)


small_ints = st.integers(-3, 3).map(float)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 40), elements=small_ints),
    arrays(np.float64, st.integers(1, 40), elements=small_ints),
)
def test_ks_agrees_with_scipy_on_samples_full_of_ties(x: np.ndarray, y: np.ndarray) -> None:
    a, b = Sample.of(x), Sample.of(y)
    assert ks(a, b).statistic == pytest.approx(stats.ks_2samp(x, y).statistic, abs=1e-12)
    assert ks(b, a).statistic == pytest.approx(ks(a, b).statistic, abs=1e-12)
