"""Shared data for the check, evaluation, trigger and loop tests: a held-out dataset
whose every column is known, and scikit-learn models of known quality and bias.

`y` is x1 + 0.5 * x2 > 0; `group` (A/B) is independent of y. A model on x1 and x2 is
good, one on x2 alone is worse, and one trained to say "yes" to every B is biased.
Imported by the tests (P1 owns conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import knot
from knot.loop.config import LoopConfig
from knot.loop.controller import Controller
from knot.loop.triggers import request_manual
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


#: a canary at half the traffic that is judged as soon as 20 labels are in
CANARY = {
    "weight": 0.5,
    "watch_seconds": 0,
    "max_watch_seconds": 3600,
    "max_error_rate": 0.2,
    "min_requests": 20,
}


def loop_config(holdout: str, pipeline: str = "train_good", **extra: Any) -> LoopConfig:
    """The loop of `churn`: a function of tests.automation.loop_pipelines, evaluated on
    accuracy against the champion on `holdout`."""
    data: dict[str, Any] = {
        "model": "churn",
        "pipeline": f"tests.automation.loop_pipelines:{pipeline}",
        "evaluation": {"dataset": holdout, "label": "y", "metric": "accuracy"},
        **extra,
    }
    return LoopConfig.model_validate(data)


def retrain_once(config: LoopConfig, owner: str = "tester-controller") -> Controller:
    """A controller that was asked to retrain and took one step (up to a wait, or idle)."""
    controller = Controller(config, owner=owner)
    request_manual(controller.db, "churn")
    controller.step()
    return controller
