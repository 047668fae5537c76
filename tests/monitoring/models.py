"""A binary classifier for monitoring tests (importable, so it pickles by reference)."""

from __future__ import annotations

from typing import Any

import numpy as np


class Logistic:
    """P(churn) = sigmoid((tenure - center) / 5); predicts 1 when it is above one half."""

    def __init__(self, center: float = 20.0) -> None:
        self.center = center

    def predict_proba(self, frame: Any) -> np.ndarray:
        tenure = np.asarray(frame["tenure"], dtype=float)
        p = 1.0 / (1.0 + np.exp(-(tenure - self.center) / 5.0))
        return np.column_stack([1.0 - p, p])

    def predict(self, frame: Any) -> np.ndarray:
        return (self.predict_proba(frame)[:, 1] > 0.5).astype(np.int64)
