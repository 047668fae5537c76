"""The churn retraining pipeline the loop runs (loop.yaml names it `retrain:retrain`).

Three steps: load the newest accepted version of the churn table, fit a gradient-boosted
challenger on it, register it as the next version of model `churn`. Each step is a
tracked child run; `load` and `fit` are cached, so a retraining interrupted after
fitting costs nothing the second time.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from train import TARGET, _pipeline, split

import knot

PARAMS = {"max_iter": 150, "learning_rate": 0.08, "max_depth": 4}


@knot.step
def load(dataset: str) -> pd.DataFrame:
    return knot.load_dataset(dataset)


@knot.step
def fit(frame: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    train, valid = split(frame, seed=11)
    X, y = train.drop(columns=[TARGET]), (train[TARGET] == "Yes").astype(int)
    pipe = _pipeline("gbm", params).fit(X, y)
    proba = pipe.predict_proba(valid.drop(columns=[TARGET]))[:, 1]
    val_auc = float(roc_auc_score((valid[TARGET] == "Yes").astype(int), proba))
    knot.log_params({"model": "gbm", **params, "train_rows": len(train)})
    knot.log_metric("val_auc", val_auc)
    return {"model": pipe, "val_auc": val_auc}


@knot.step(cache=False)
def register(fitted: dict[str, Any], frame: pd.DataFrame, dataset: str) -> knot.ModelVersion:
    run = knot.active_run()
    if run is not None:
        run.use_dataset(dataset)
    # the promotion policy reads the metrics of the run that logged the version
    knot.log_metric("val_auc", fitted["val_auc"])
    return knot.log_model(
        fitted["model"],
        "model",
        registered_model_name="churn",
        input_example=frame.drop(columns=[TARGET]).head(),
        description="Churn classifier retrained by the loop on the newest churn data.",
    )


@knot.pipeline(name="churn-retrain")
def retrain(dataset: str = "churn", params: dict[str, Any] | None = None) -> Any:
    # resolved while the body is traced, so the cache key names the exact version:
    # a new version of the table is a cache miss, the same one a hit
    ref = knot.get_dataset(dataset).ref
    frame = load(ref)
    fitted = fit(frame, params or PARAMS)
    return register(fitted, frame, ref)
