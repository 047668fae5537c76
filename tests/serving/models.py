"""Python-flavor models for serving tests (importable by service subprocesses)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class Threshold:
    """Predicts 1 where tenure > cut; raises ValueError on a negative tenure (a value its
    signature allows but the model refuses) and RuntimeError on a tenure of 666 (a bug of
    the model's own)."""

    def __init__(self, cut: float, tag: int = 0) -> None:
        self.cut = cut
        self.tag = tag

    def predict(self, frame: Any) -> np.ndarray:
        tenure = np.asarray(frame["tenure"], dtype=float)
        if (tenure < 0).any():
            raise ValueError("negative tenure")
        if (tenure == 666).any():
            raise RuntimeError("the model's own bug")
        return (tenure > self.cut).astype(np.int64) + self.tag


class Slow(Threshold):
    """Takes `seconds` per predict call: requests stay in flight long enough to observe."""

    def __init__(self, cut: float, seconds: float) -> None:
        super().__init__(cut)
        self.seconds = seconds

    def predict(self, frame: Any) -> np.ndarray:
        time.sleep(self.seconds)
        return super().predict(frame)


class RowSum:
    """A tensor model: the sum of each row."""

    def predict(self, rows: Any) -> np.ndarray:
        return np.asarray(rows, dtype=float).sum(axis=1)


class Echo:
    """Predicts the tenure it was given, NaN included: a model that takes missing values."""

    def predict(self, frame: Any) -> np.ndarray:
        return np.asarray(frame["tenure"], dtype=float)


class Plans:
    """A classifier whose classes are strings: predicts the plan's name upper-cased."""

    def predict(self, frame: Any) -> np.ndarray:
        return np.asarray([str(p).upper() for p in frame["plan"]], dtype=object)
