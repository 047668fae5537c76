"""A/B test between two models on a live per-user metric (e.g. NDCG@10 of each user's
recommendations against what they rated afterwards), fixed horizon.

The horizon is the sample size per arm needed to detect a difference of `effect` (in
the metric's units) with probability `power` at level `alpha`, from the pooled standard
deviation: n = 2 (z_{1-alpha/2} + z_{power})^2 sd^2 / effect^2. Before both arms reach
it the decision is "continue"; after, Welch's t-test decides: "B" or "A" when the
difference is significant at `alpha` (two-sided), else "no difference". Looking once, at
the horizon, keeps the false-positive rate at alpha (peeking after every user would not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from knot.errors import Invalid

__all__ = ["ABResult", "ab_test", "sample_size"]


@dataclass(frozen=True)
class ABResult:
    metric: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    p_value: float | None
    needed_per_arm: int
    decision: str  # "A" | "B" | "no difference" | "continue"

    @property
    def lift(self) -> float:
        return self.mean_b - self.mean_a

    def summary(self) -> str:
        base = (
            f"{self.metric}: A {self.mean_a:.4f} (n={self.n_a}) vs B {self.mean_b:.4f} "
            f"(n={self.n_b}); {self.needed_per_arm} users per arm needed"
        )
        if self.decision == "continue":
            return f"{base}; keep collecting"
        return f"{base}; p={self.p_value:.4g}: {self.decision}"


def sample_size(sd: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users per arm to detect `effect` with `power` at two-sided level `alpha`."""
    if effect <= 0:
        raise Invalid(
            f"effect must be > 0 (the smallest lift worth finding), got {effect}", field="effect"
        )
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise Invalid(f"alpha and power must be in (0, 1), got {alpha} and {power}", field="alpha")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return max(2, math.ceil(2 * (z * sd / effect) ** 2))


def ab_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    metric: str = "metric",
) -> ABResult:
    """Decide between arm A (the current model) and arm B from per-user metric values."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.isnan(xa).any() or np.isnan(xb).any():
        raise Invalid(
            "per-user metric values must not be NaN; drop users without one", field="values"
        )
    if len(xa) < 2 or len(xb) < 2:
        raise Invalid(
            f"each arm needs at least 2 users, got {len(xa)} and {len(xb)}", field="values"
        )
    sd = math.sqrt((xa.var(ddof=1) + xb.var(ddof=1)) / 2)
    needed = sample_size(max(sd, 1e-12), effect, alpha, power)
    mean_a, mean_b = float(xa.mean()), float(xb.mean())
    if min(len(xa), len(xb)) < needed:
        return ABResult(metric, len(xa), len(xb), mean_a, mean_b, None, needed, "continue")
    if sd == 0:
        p = 1.0 if mean_a == mean_b else 0.0
    else:
        p = float(stats.ttest_ind(xb, xa, equal_var=False).pvalue)
    decision = "no difference" if p >= alpha else ("B" if mean_b > mean_a else "A")
    return ABResult(metric, len(xa), len(xb), mean_a, mean_b, p, needed, decision)
