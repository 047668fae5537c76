"""Challenger vs champion: the policy's margin, guards, segments and floors, on hand-made
answers and on registered models; and the fairness gaps against fairlearn's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knot
from knot.errors import Invalid
from knot.gates.evaluate import ComparisonPolicy, compare, evaluate_challenger
from knot.gates.evaluate_data import Scored
from knot.gates.evaluate_metrics import compute_metric
from knot.gates.fairness import (
    demographic_parity_difference,
    equal_opportunity_difference,
    fairness_gap,
)
from tests.gates.churn_models import frame, holdout, register

__all__ = ["holdout"]

Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
SEG = np.array(["a"] * 5 + ["b"] * 5)


def scored(name: str, predictions: list[int]) -> Scored:
    return Scored(name, np.array(predictions), None, 1)


CHAMPION = scored("m/1", [1, 1, 1, 0, 0, 0, 0, 0, 1, 1])  # 8/10 right


def test_a_worse_challenger_is_rejected_naming_the_metric_and_margin() -> None:
    worse = scored("m/2", [1, 1, 0, 0, 0, 0, 0, 1, 1, 1])  # 6/10
    result = compare("m", ComparisonPolicy(metric="accuracy", min_margin=0.05), Y, worse, CHAMPION)
    assert not result.passed
    assert result.reasons == [
        "primary accuracy: challenger 0.6 vs champion 0.8 (better by -0.2); it must improve "
        "by 0.05 (min_margin)"
    ]
    better = scored("m/3", Y.tolist())
    assert compare("m", ComparisonPolicy(min_margin=0.05), Y, better, CHAMPION).passed


def test_margin_guards_segments_and_thresholds() -> None:
    # same accuracy overall (8/10), but recall drops and segment a gets worse
    challenger = scored("m/2", [1, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    policy = ComparisonPolicy(
        metric="accuracy",
        guards=["recall"],
        segment="s",
        min_segment_rows=5,
        thresholds=["accuracy >= 0.9"],
    )
    result = compare("m", policy, Y, challenger, CHAMPION, segments=SEG)
    assert [c.role for c in result.comparisons if not c.passed] == [
        "guard",
        "segment",
        "threshold",
    ]
    assert "guard recall: challenger 0.6 vs champion 0.8" in result.reasons[0]
    assert "in segment s=a" in result.reasons[1]
    assert result.reasons[2] == "threshold accuracy >= 0.9: challenger has 0.8"
    tolerant = policy.model_copy(
        update={"guards": {"recall": 0.25}, "segment_tolerance": 0.5, "thresholds": []}
    )
    assert compare("m", tolerant, Y, challenger, CHAMPION, segments=SEG).passed
    small = policy.model_copy(update={"min_segment_rows": 6, "guards": {}, "thresholds": []})
    skipped = compare("m", small, Y, challenger, CHAMPION, segments=SEG)
    assert skipped.passed and skipped.skipped_segments == ["s=a (5 rows < 6)", "s=b (5 rows < 6)"]


def test_lower_is_better_metrics_and_no_champion() -> None:
    worse = scored("m/2", [0] * 10)
    assert not compare("m", ComparisonPolicy(metric="error_rate"), Y, worse, CHAMPION).passed
    first = compare("m", ComparisonPolicy(min_margin=0.5), Y, worse, None)
    assert first.passed and first.champion is None and "(no champion yet)" in first.summary()


def test_metric_values() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.3, 0.4, 0.95, 0.35])
    assert compute_metric("roc_auc", Y, Y, scores) == pytest.approx(
        21 / 25
    )  # 0.2 beats one negative only
    assert compute_metric("f1", Y, CHAMPION.predictions) == pytest.approx(0.8)
    with pytest.raises(Invalid, match="needs the positive-class probability"):
        compute_metric("roc_auc", Y, Y)
    with pytest.raises(Invalid, match="not a known metric; use one of: accuracy"):
        compute_metric("auc", Y, Y)


def test_bad_policies_name_the_key() -> None:
    with pytest.raises(ValueError, match="guards 'recal' is not a known metric"):
        ComparisonPolicy(guards=["recal"])
    with pytest.raises(ValueError, match="threshold 'accuracy = 1' is malformed"):
        ComparisonPolicy(thresholds=["accuracy = 1"])


def test_registered_challenger_against_champion(holdout: str) -> None:
    register("good", alias="champion")
    worse = register("worse")
    result = evaluate_challenger(
        "churn", worse.version, dataset=holdout, label="y", policy=ComparisonPolicy()
    )
    assert not result.passed and result.champion == "churn/1" and result.dataset == "holdout@1"
    assert result.reasons[0].startswith("primary accuracy: challenger 0.")
    # labels stored as text are mapped to what the model predicts
    knot.register_dataset(
        "text_labels", frame(200, seed=3).assign(y=lambda f: f.y.map({1: "Yes", 0: "No"}))
    )
    yes_no = ComparisonPolicy(label_map={"Yes": 1, "No": 0})
    mapped = evaluate_challenger("churn", 2, dataset="text_labels", label="y", policy=yes_no)
    assert mapped.comparisons[0].champion is not None and mapped.comparisons[0].champion > 0.9
    with pytest.raises(Invalid, match=r"values \['No', 'Yes'\] that label_map does not map"):
        evaluate_challenger(
            "churn",
            2,
            dataset="text_labels",
            label="y",
            policy=ComparisonPolicy(label_map={"1": 1}),
        )
    with pytest.raises(Invalid, match=r"labels \('No', 'Yes'\) are text, but churn/2 predicts"):
        evaluate_challenger("churn", 2, dataset="text_labels", label="y", policy=ComparisonPolicy())
    with pytest.raises(Invalid, match="label column 'churned' is not in holdout@1"):
        evaluate_challenger("churn", 2, dataset=holdout, label="churned", policy=ComparisonPolicy())


def test_fairness_by_hand() -> None:
    pred = [1, 1, 0, 0, 1, 1, 1, 0]
    group = ["a", "a", "a", "a", "b", "b", "b", "b"]
    true = [1, 0, 1, 0, 1, 1, 0, 0]
    parity = demographic_parity_difference(pred, group)
    assert parity.gap == pytest.approx(0.25)  # a: 2/4, b: 3/4
    opportunity = equal_opportunity_difference(pred, group, y_true=true)
    assert opportunity.gap == pytest.approx(0.5)  # TPR a: 1/2, b: 2/2
    assert opportunity.worst == ("b", "a")
    with pytest.raises(Invalid, match="one value per row"):
        demographic_parity_difference(pred, group[:3])
    with pytest.raises(Invalid, match="needs the true labels"):
        fairness_gap("equal_opportunity_difference", pred, group)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.sampled_from("xyz")), min_size=4)
)
def test_fairness_matches_fairlearn(rows: list[tuple[int, int, str]]) -> None:
    fairlearn = pytest.importorskip("fairlearn.metrics")
    pred, true, group = (np.array(c) for c in zip(*rows, strict=True))
    ours = demographic_parity_difference(pred, group).gap
    assert ours == pytest.approx(
        fairlearn.demographic_parity_difference(true, pred, sensitive_features=group)
    )
    if all((true[group == g] == 1).any() for g in set(group.tolist())):
        theirs = fairlearn.equal_opportunity_difference(true, pred, sensitive_features=group)
        assert equal_opportunity_difference(pred, group, y_true=true).gap == pytest.approx(theirs)
