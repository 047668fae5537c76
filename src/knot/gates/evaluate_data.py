"""What an evaluation reads: held-out rows of a dataset version, their labels, and a
registered model's answers on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from knot.errors import Invalid

__all__ = ["Scored", "check_labels", "labels_of", "model_uri", "read_frame", "score_model"]


@dataclass(frozen=True)
class Scored:
    """A model's answers on the held-out rows: predictions, and scores when it has them."""

    name: str  # e.g. churn/4
    predictions: np.ndarray
    scores: np.ndarray | None
    positive: Any


def score_model(model: Any, name: str, frame: pd.DataFrame, label: str) -> Scored:
    """Predict `frame` (minus the label, restricted to the model's signature columns)."""
    signature = getattr(model, "signature", None)
    columns = signature.columns if signature is not None and signature.columns else None
    features = frame.drop(columns=[label]) if label in frame.columns else frame
    if columns:
        missing = [c for c in columns if c not in features.columns]
        if missing:
            raise Invalid(
                f"the held-out data lacks column(s) {missing} that {name} takes; evaluate on a "
                "dataset with the model's input columns",
                field="dataset",
            )
        features = features[columns]
    predictions = np.asarray(model.predict(features))
    classes = getattr(getattr(model, "model", model), "classes_", None)
    positive = classes[-1] if classes is not None and len(classes) else 1
    scores = None
    if (
        callable(getattr(model, "predict_proba", None))
        and classes is not None
        and len(classes) == 2
    ):
        scores = np.asarray(model.predict_proba(features))[:, 1].astype(float)
    return Scored(name, predictions, scores, positive)


def model_uri(model: str, version_or_alias: str | int) -> str:
    """models:/NAME/VERSION for a number (or digits), models:/NAME@ALIAS otherwise."""
    if isinstance(version_or_alias, int) or str(version_or_alias).isdigit():
        return f"models:/{model}/{int(version_or_alias)}"
    return f"models:/{model}@{version_or_alias}"


def read_frame(dataset: str, columns: Mapping[str, str | None]) -> tuple[pd.DataFrame, str]:
    """The rows of dataset version `dataset` (e.g. 'churn_holdout@2') and its exact ref,
    checking that each named column (config key -> column name) is there."""
    from knot.tracking.datasets import dataset_store

    store = dataset_store()
    version = store.get(dataset)
    frame = store.read_table(version.ref).to_pandas()
    for key, column in columns.items():
        if column is not None and column not in frame.columns:
            raise Invalid(
                f"{key} column {column!r} is not in {version.ref}; its columns: "
                f"{', '.join(map(str, frame.columns))}",
                field=key,
            )
    return frame, version.ref


def labels_of(frame: pd.DataFrame, label: str, label_map: Mapping[str, Any] | None) -> np.ndarray:
    """The label column, mapped through `label_map` (every value must have an entry)."""
    column = frame[label]
    if label_map is None:
        return column.to_numpy()
    unmapped = sorted({str(v) for v in column.unique()} - set(label_map))
    if unmapped:
        raise Invalid(
            f"label column {label!r} has values {unmapped[:5]} that label_map does not map; "
            f"add them to label_map (it maps {sorted(label_map)})",
            field="label_map",
        )
    return np.asarray([label_map[str(v)] for v in column])


def check_labels(y_true: np.ndarray, scored: Scored) -> None:
    """Refuse labels of another kind than the model's answers (text labels against 0/1
    predictions, say): every metric would be 0 for both models, and a comparison would
    say nothing while looking as if it passed."""
    labels = {_kind(v) for v in np.unique(y_true)}
    answers = {_kind(v) for v in np.unique(scored.predictions)}
    if labels and answers and not labels & answers:
        shown = ", ".join(map(repr, np.unique(y_true)[:5].tolist()))
        said = ", ".join(map(repr, np.unique(scored.predictions)[:5].tolist()))
        raise Invalid(
            f"the held-out labels ({shown}) are {'/'.join(sorted(labels))}, but {scored.name} "
            f"predicts {'/'.join(sorted(answers))} ({said}); map the labels to what the "
            'model predicts with label_map (e.g. {"Yes": 1, "No": 0})',
            field="label_map",
        )


def _kind(value: Any) -> str:
    return "text" if isinstance(value, str | bytes) else "numbers"
