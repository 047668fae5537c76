"""Shared data for the check, evaluation, trigger and loop tests: a held-out dataset
whose every column is known, and scikit-learn models of known quality and bias.

`y` is x1 + 0.5 * x2 > 0; `group` (A/B) is independent of y. A model on x1 and x2 is
good, one on x2 alone is worse, and one trained to say "yes" to every B is biased.
Imported by the gates tests and the loop tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import knot
from knot.registry.entities import ModelVersion

FEATURES = ["x1", "x2", "group_code"]


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = np.where(rng.random(n) < 0.5, "A", "B")
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "group_code": (group == "B").astype(int),
            "group": group,
            "y": (x1 + 0.5 * x2 > 0).astype(int),
        }
    )


def fit(kind: str, data: pd.DataFrame) -> Any:
    """'good' (x1, x2), 'worse' (x2 only, x1 zeroed) or 'biased' (yes to every B)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X = data[FEATURES].copy()
    y = data["y"]
    if kind == "good":
        X["group_code"] = 0
        return LogisticRegression().fit(X, y)
    if kind == "worse":
        X["x1"], X["group_code"] = 0.0, 0
        return LogisticRegression().fit(X, y)
    assert kind == "biased"
    return DecisionTreeClassifier(max_depth=6, random_state=0).fit(
        X, np.where(data["group"] == "B", 1, y)
    )


def register(
    kind: str, model: str = "churn", alias: str | None = None, trained_on: str | None = None
) -> ModelVersion:
    """Train `kind` on the training rows and register it as the next version of `model`;
    `trained_on` names a dataset version the run loads (so lineage ties them)."""
    train = frame(600, seed=1)
    with knot.start_run(f"train {kind}", experiment="churn"):
        if trained_on is not None:
            knot.load_dataset(trained_on)
        version = knot.log_model(
            fit(kind, train), registered_model_name=model, input_example=train[FEATURES].head()
        )
    if alias is not None:
        knot.set_alias(model, alias, version.version)
    return version


@pytest.fixture
def holdout(knot_home: Path) -> str:
    """Dataset `holdout` registered (400 rows); returns its ref."""
    return knot.register_dataset("holdout", frame(400, seed=2)).ref
