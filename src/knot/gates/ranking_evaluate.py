"""A recommender challenger against the champion on held-out interactions, by a ranking
metric (knot.monitoring.performance.ranking): each user who later liked something gets
a top-k list from both versions, and the challenger's mean metric must beat the
champion's by `min_margin`.

Held-out rows are (user, item, relevance): an item is relevant to the user when its
relevance reaches `min_relevance` (a rating of 4 or more, say). A version served from a
feature service is asked as `knot serve` asks it: the user id with that user's online
features (knot.features), so both versions see what they would see live. A model's
answer per user is its ranked items: a list, or a mapping with "items".
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knot.errors import Invalid
from knot.gates.evaluate import Evaluation, MetricComparison
from knot.gates.evaluate_data import model_uri, read_frame
from knot.registry.fluent import get_model_version, load_model

__all__ = ["RANKING_METRICS", "RankingPolicy", "evaluate_ranking"]

RANKING_METRICS = ("precision", "recall", "ndcg", "map")


class RankingPolicy(BaseModel):
    """The loop's `ranking:` section: held-out interactions and the metric that decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    user: str = "user_id"
    item: str = "item_id"
    relevance: str | None = None  # none: every held-out row is relevant
    min_relevance: float = 1.0
    k: int = Field(default=10, ge=1, le=1000)
    metric: str = "ndcg"
    min_margin: float = 0.0
    champion: str = "champion"

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.split("_at_")[0] not in RANKING_METRICS:
            raise ValueError(
                f"{value!r} is not a ranking metric; use one of {', '.join(RANKING_METRICS)} "
                "(the mean over users of metric@k)"
            )
        return value

    @model_validator(mode="after")
    def _same_k(self) -> RankingPolicy:
        base, at, k = self.metric.partition("_at_")
        if at and k != str(self.k):
            raise ValueError(f"metric {self.metric} is not at k {self.k}; write {base} and k")
        return self

    @property
    def name(self) -> str:
        return f"{self.metric.partition('_at_')[0]}_at_{self.k}"


def evaluate_ranking(model: str, challenger: int | str, policy: RankingPolicy) -> Evaluation:
    """Compare version `challenger` of `model` with its `policy.champion` alias."""
    from knot.errors import NotFound

    columns = {"user": policy.user, "item": policy.item, "relevance": policy.relevance}
    frame, ref = read_frame(policy.dataset, columns)
    liked = (
        frame
        if policy.relevance is None
        else frame[frame[policy.relevance] >= policy.min_relevance]
    )
    relevant: dict[Any, set[Any]] = {
        u: set(g[policy.item].tolist()) for u, g in liked.groupby(policy.user)
    }
    if not relevant:
        raise Invalid(
            f"no held-out row of {ref} reaches {policy.relevance} >= {policy.min_relevance}, so "
            "no user has a relevant item; lower min_relevance or add held-out rows",
            field="ranking.min_relevance",
        )
    users = sorted(relevant)
    ours = get_model_version(model_uri(model, challenger))
    mine = _metric(model, ours.version, ours.uri, users, relevant, policy)
    try:
        theirs = get_model_version(f"models:/{model}@{policy.champion}")
    except NotFound:
        theirs = None
    name = policy.name
    challenger_name = f"{model}/{ours.version}"
    if theirs is None:
        comparison = MetricComparison(
            metric=name, role="primary", rows=len(users), champion=None, challenger=mine,
            better_by=None, required=policy.min_margin, passed=True,
        )  # fmt: skip
        return _evaluation(model, challenger_name, None, ref, comparison)
    rival = _metric(model, theirs.version, theirs.uri, users, relevant, policy)
    better = mine - rival
    passed = better >= policy.min_margin - 1e-12
    reason = None
    if not passed:
        reason = (
            f"primary {name}: challenger {mine:.4g} vs champion {rival:.4g} (better by "
            f"{better:+.4g}); it must improve by {policy.min_margin:g} (min_margin)"
        )
    comparison = MetricComparison(
        metric=name, role="primary", rows=len(users), champion=rival, challenger=mine,
        better_by=better, required=policy.min_margin, passed=passed, reason=reason,
    )  # fmt: skip
    return _evaluation(model, challenger_name, f"{model}/{theirs.version}", ref, comparison)


def _evaluation(
    model: str, challenger: str, champion: str | None, ref: str, comparison: MetricComparison
) -> Evaluation:
    reasons = [comparison.reason] if comparison.reason else []
    return Evaluation(
        model=model, challenger=challenger, champion=champion, dataset=ref,
        rows=comparison.rows, passed=not reasons, reasons=reasons, comparisons=[comparison],
    )  # fmt: skip


def _metric(
    model: str,
    version: int,
    uri: str,
    users: list[Any],
    relevant: dict[Any, set[Any]],
    policy: RankingPolicy,
) -> float:
    from knot.monitoring.performance.ranking import ranking_metrics

    inputs = pd.DataFrame({policy.user: users, **_features(model, version, policy.user, users)})
    answers = load_model(uri).predict(inputs)
    if len(answers) != len(users):
        raise Invalid(
            f"{model}/{version} answered {len(answers)} rows for {len(users)} users; a "
            "recommender answers one ranked list per row",
            field="ranking",
        )
    lists = {u: _items(a, f"{model}/{version}") for u, a in zip(users, answers, strict=True)}
    found = ranking_metrics(lists, relevant, policy.k).as_dict()[policy.name]
    return 0.0 if found is None else float(found)


def _features(model: str, version: int, key: str, users: list[Any]) -> dict[str, list[Any]]:
    """The users' online features when the version reads a feature service, else none."""
    from knot.features.fluent import feature_store

    try:
        store = feature_store()
    except Invalid:  # no feature store in this session: the model takes the ids alone
        return {}
    bound = store.catalog.binding(model, version)
    if bound is None:
        return {}
    reader = store.reader(bound)
    if reader.entity_keys != [key]:
        raise Invalid(
            f"{model}/{version} reads feature service {bound.node}, keyed by "
            f"{reader.entity_keys}; ranking.user is {key!r}",
            field="ranking.user",
        )
    return reader.read_columns({key: users})


def _items(answer: Any, name: str) -> list[Any]:
    if isinstance(answer, dict):
        answer = answer.get("items")
    if hasattr(answer, "tolist"):
        answer = answer.tolist()
    if not isinstance(answer, list | tuple):
        raise Invalid(
            f"{name} answered {type(answer).__name__} for a user; a recommender answers a "
            'ranked list of items, or {"items": [...], "scores": [...]}',
            field="ranking",
        )
    return list(answer)
