"""Ranking metrics on cases worked out by hand, and NDCG against scikit-learn's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from knot.errors import Invalid
from knot.monitoring.performance.ranking import (
    average_precision_at_k,
    coverage,
    ndcg_at_k,
    novelty,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)

LIST = [1, 2, 3, 4, 5]
LIKED = {2, 4, 9}


def test_one_user_by_hand() -> None:
    assert precision_at_k(LIST, LIKED, 5) == pytest.approx(2 / 5)
    assert recall_at_k(LIST, LIKED, 5) == pytest.approx(2 / 3)
    # hits at ranks 2 and 4; the ideal list has the 3 liked items first
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(LIST, LIKED, 5) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(LIST, LIKED, 5) == pytest.approx(0.498190, abs=1e-6)
    assert average_precision_at_k(LIST, LIKED, 5) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert precision_at_k(LIST, LIKED, 3) == pytest.approx(1 / 3)
    assert average_precision_at_k(LIST, LIKED, 3) == pytest.approx((1 / 2) / 3)
    assert average_precision_at_k([2, 4, 9], LIKED, 3) == 1.0
    assert ndcg_at_k([2, 4, 9], LIKED, 3) == pytest.approx(1.0)
    assert recall_at_k(LIST, set(), 5) is None and ndcg_at_k(LIST, set(), 5) is None


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize(
    "gains", [{2: 1, 4: 1, 9: 1}, {2: 3, 4: 1, 9: 2}, {1: 2, 5: 1}, {7: 1}, {3: 1, 1: 3}]
)
def test_ndcg_equals_scikit_learn(k: int, gains: dict[int, float]) -> None:
    items = sorted(set(LIST) | set(gains))
    y_true = [[gains.get(i, 0) for i in items]]
    # the list's order as scores; items off the list score below all of it
    y_score = [[len(LIST) - LIST.index(i) if i in LIST else -items.index(i) - 1 for i in items]]
    assert ndcg_at_k(LIST, gains, k) == pytest.approx(ndcg_score(y_true, y_score, k=k))


def test_across_users_coverage_and_novelty() -> None:
    lists = {"ann": [1, 2, 3], "bob": [1, 4, 5], "cy": [1, 2, 6]}
    liked = {"ann": {2}, "bob": {9}, "cy": set(), "dee": {1}}  # cy: nothing to judge
    m = ranking_metrics(lists, liked, 3, catalog=range(1, 11), popularity={1: 8, 2: 2}, users=8)
    assert m.users == 3  # ann, bob, dee (no list: an empty one)
    assert m.precision == pytest.approx((1 / 3 + 0 + 0) / 3)
    assert m.recall == pytest.approx((1 + 0 + 0) / 3)
    assert m.map == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert m.coverage == pytest.approx(6 / 10)
    # item 1 shown 3 times (p = 1), item 2 twice (p = 1/4), five others once (p = 1/8)
    expected = (3 * 0 + 2 * 2 + 4 * 3) / 9
    assert m.novelty == pytest.approx(expected)
    assert novelty(lists, {1: 8, 2: 2}, 8, 3) == pytest.approx(expected)
    assert coverage(lists, [1, 2], 1) == 0.5
    assert set(m.as_dict()) == {
        f"{n}_at_3" for n in ("precision", "recall", "ndcg", "map", "coverage", "novelty")
    }


def test_bad_k_and_catalog_are_refused() -> None:
    for k in (0, -1, 2.5, True):
        with pytest.raises(Invalid, match="k must be a positive whole number"):
            precision_at_k(LIST, LIKED, k)  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="non-empty catalog"):
        coverage({"a": [1]}, [], 3)
    assert np.isclose(precision_at_k([], LIKED, 2), 0.0)
