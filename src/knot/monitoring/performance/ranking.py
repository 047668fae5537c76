"""Ranking metrics for recommenders: how good each user's top-k list is against the items
they turned out to like, and how varied the lists are across users.

Per user (a list `recommended`, best first, and the `relevant` items, or a mapping of
item -> graded relevance):
    precision@k  hits in the top k / k
    recall@k     hits in the top k / relevant items
    ndcg@k       sum of gain / log2(rank + 1) over the top k, over the same for the ideal
                 order (linear gain, as scikit-learn's ndcg_score)
    ap@k         sum over hit ranks r <= k of precision@r, / min(relevant, k)
Users with no relevant item are left out of these (they have no answer to be right
about). Across users: their means (map@k is the mean of ap@k), and
    coverage     distinct items recommended / catalog size
    novelty      mean self-information -log2(p) of the recommended items, p being the
                 share of users who interacted with the item (at least one user's worth)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

from knot.errors import Invalid

__all__ = [
    "RankingMetrics",
    "average_precision_at_k",
    "coverage",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
]

Relevance = Collection[Hashable] | Mapping[Hashable, float]


def _gains(relevant: Relevance) -> dict[Hashable, float]:
    if isinstance(relevant, Mapping):
        return {item: float(g) for item, g in relevant.items() if g > 0}
    return dict.fromkeys(relevant, 1.0)


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise Invalid(f"k must be a positive whole number, got {k!r}", field="k")


def precision_at_k(recommended: Sequence[Hashable], relevant: Relevance, k: int) -> float:
    _check_k(k)
    gains = _gains(relevant)
    return sum(1 for item in recommended[:k] if item in gains) / k


def recall_at_k(recommended: Sequence[Hashable], relevant: Relevance, k: int) -> float | None:
    _check_k(k)
    gains = _gains(relevant)
    if not gains:
        return None
    return sum(1 for item in recommended[:k] if item in gains) / len(gains)


def ndcg_at_k(recommended: Sequence[Hashable], relevant: Relevance, k: int) -> float | None:
    _check_k(k)
    gains = _gains(relevant)
    if not gains:
        return None
    dcg = sum(
        gains.get(item, 0.0) / math.log2(rank + 2) for rank, item in enumerate(recommended[:k])
    )
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg


def average_precision_at_k(
    recommended: Sequence[Hashable], relevant: Relevance, k: int
) -> float | None:
    _check_k(k)
    gains = _gains(relevant)
    if not gains:
        return None
    hits, total, seen = 0, 0.0, set()
    for rank, item in enumerate(recommended[:k], start=1):
        if item in gains and item not in seen:
            hits += 1
            total += hits / rank
        seen.add(item)
    return total / min(len(gains), k)


def coverage(
    lists: Mapping[Hashable, Sequence[Hashable]], catalog: Collection[Hashable], k: int
) -> float:
    _check_k(k)
    items = set(catalog)
    if not items:
        raise Invalid("coverage needs a non-empty catalog of items", field="catalog")
    shown = {item for listed in lists.values() for item in listed[:k]}
    return len(shown & items) / len(items)


def novelty(
    lists: Mapping[Hashable, Sequence[Hashable]],
    popularity: Mapping[Hashable, int],
    users: int,
    k: int,
) -> float | None:
    """Mean -log2(share of `users` who interacted with the item) over every recommended
    item; an item nobody interacted with counts as one user's."""
    _check_k(k)
    if users < 1:
        raise Invalid(f"novelty needs the number of users (>= 1), got {users}", field="users")
    values = [
        -math.log2(max(popularity.get(item, 0), 1) / users)
        for items in lists.values()
        for item in items[:k]
    ]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class RankingMetrics:
    k: int
    users: int  # users with at least one relevant item
    precision: float | None
    recall: float | None
    ndcg: float | None
    map: float | None
    coverage: float | None
    novelty: float | None

    def as_dict(self) -> dict[str, float | None]:
        k = self.k
        return {
            f"precision_at_{k}": self.precision,
            f"recall_at_{k}": self.recall,
            f"ndcg_at_{k}": self.ndcg,
            f"map_at_{k}": self.map,
            f"coverage_at_{k}": self.coverage,
            f"novelty_at_{k}": self.novelty,
        }


def ranking_metrics(
    recommended: Mapping[Hashable, Sequence[Hashable]],
    relevant: Mapping[Hashable, Relevance],
    k: int,
    *,
    catalog: Collection[Hashable] | None = None,
    popularity: Mapping[Hashable, int] | None = None,
    users: int | None = None,
) -> RankingMetrics:
    """Every metric of the module over the users in `relevant` (their lists from
    `recommended`; a user without a list got an empty one)."""
    _check_k(k)
    judged = [u for u, r in relevant.items() if _gains(r)]

    def mean(values: list[float | None]) -> float | None:
        kept = [v for v in values if v is not None]
        return sum(kept) / len(kept) if kept else None

    lists = {u: list(recommended.get(u, ())) for u in judged}
    return RankingMetrics(
        k=k,
        users=len(judged),
        precision=mean([precision_at_k(lists[u], relevant[u], k) for u in judged]),
        recall=mean([recall_at_k(lists[u], relevant[u], k) for u in judged]),
        ndcg=mean([ndcg_at_k(lists[u], relevant[u], k) for u in judged]),
        map=mean([average_precision_at_k(lists[u], relevant[u], k) for u in judged]),
        coverage=coverage(recommended, catalog, k) if catalog is not None else None,
        novelty=novelty(recommended, popularity, users, k)
        if popularity is not None and users
        else None,
    )
