"""A model served from a feature service (importable by `knot serve` subprocesses)."""

from __future__ import annotations

from typing import Any

import numpy as np


class SpendScore:
    """Scores a user as 100 * user_id + spend: the answer shows both the id the request
    sent and the feature the service fetched."""

    def predict(self, frame: Any) -> np.ndarray:
        return 100 * np.asarray(frame["user_id"], float) + np.asarray(frame["spend"], float)
