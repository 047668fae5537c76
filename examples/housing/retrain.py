"""The pipeline the loop runs (loop.yaml: `retrain:retrain`): load the newest accepted
version of the housing table, fit gradient boosting on it, register it as the next
version of model `housing`. Each step is a tracked child run."""

from __future__ import annotations

from typing import Any

import pandas as pd
from model import TARGET, regressor, scores, split

import knot

PARAMS = {"max_iter": 100, "learning_rate": 0.1, "max_depth": 4}


@knot.step
def load(dataset: str) -> pd.DataFrame:
    return knot.load_dataset(dataset)


@knot.step
def fit(frame: pd.DataFrame) -> dict[str, Any]:
    train, valid = split(frame, seed=11)
    model = regressor("gbm", PARAMS).fit(train.drop(columns=[TARGET]), train[TARGET])
    metrics = scores(valid[TARGET], model.predict(valid.drop(columns=[TARGET])))
    knot.log_params({"model": "gbm", **PARAMS, "train_rows": len(train)})
    return {"model": model, "metrics": metrics}


@knot.step(cache=False)
def register(fitted: dict[str, Any], frame: pd.DataFrame, dataset: str) -> knot.ModelVersion:
    run = knot.active_run()
    if run is not None:
        run.use_dataset(dataset)
    knot.log_metrics(fitted["metrics"])  # what the promotion policy reads (val_mae)
    return knot.log_model(
        fitted["model"],
        "model",
        registered_model_name="housing",
        input_example=frame.drop(columns=[TARGET]).head(),
        description="Housing model retrained by the loop on the newest sales.",
    )


@knot.pipeline(name="housing-retrain")
def retrain(dataset: str = "housing") -> Any:
    ref = knot.get_dataset(dataset).ref  # the exact version, so the cache keys on it
    frame = load(ref)
    return register(fit(frame), frame, ref)
