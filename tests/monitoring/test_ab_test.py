"""The A/B test's sample size, decisions, and its false-positive rate on A/A traffic."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from knot.errors import Invalid
from knot.monitoring.performance.ab_test import ab_test, sample_size


def test_sample_size_matches_the_textbook() -> None:
    # sd 1, effect 0.5, alpha 0.05 two-sided, power 0.8: 63 per group
    assert sample_size(1.0, 0.5) == 63
    assert sample_size(1.0, 0.25) == 252
    with pytest.raises(Invalid, match="effect must be > 0"):
        sample_size(1.0, 0.0)


def _ndcg_like(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """Per-user values shaped like NDCG@10: most users 0, the rest spread over (0, 1]."""
    hit = rng.random(n) < 0.4
    return np.where(hit, np.clip(rng.beta(2, 3, n) + shift, 0, 1), 0.0)


def test_false_positive_rate_on_aa_traffic_is_at_most_alpha() -> None:
    """The same users split at random many times: the test may call a winner in about
    alpha of the splits, and a binomial test finds no excess over alpha."""
    rng = np.random.default_rng(17)
    users = _ndcg_like(rng, 1200)
    alpha, splits = 0.05, 1000
    wins = 0
    for _ in range(splits):
        order = rng.permutation(len(users))
        result = ab_test(users[order[:600]], users[order[600:]], effect=0.08, alpha=alpha)
        assert result.decision != "continue"  # 600 per arm is past the horizon
        wins += result.decision in ("A", "B")
    assert stats.binomtest(wins, splits, alpha, alternative="greater").pvalue > 0.001
    assert wins / splits < alpha + 0.02


def test_a_real_lift_is_found_and_small_samples_continue() -> None:
    rng = np.random.default_rng(3)
    found = [
        ab_test(_ndcg_like(rng, 600), _ndcg_like(rng, 600, 0.15), effect=0.08).decision
        for _ in range(50)
    ]
    assert found.count("B") >= 40  # power 0.8 at 0.08, so a 0.06 lift of the mean is often found
    early = ab_test(_ndcg_like(rng, 20), _ndcg_like(rng, 20), effect=0.08)
    assert early.decision == "continue" and early.p_value is None
    assert "keep collecting" in early.summary()
    with pytest.raises(Invalid, match="at least 2 users"):
        ab_test([1.0], [1.0, 2.0], effect=0.1)
