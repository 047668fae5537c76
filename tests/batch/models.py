"""A model for batch scoring whose first prediction in a process may kill that process,
as a worker lost mid-job (an OOM kill, a node going away) would end."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


class DiesOnce:
    """Predicts 2 * tenure + seats. While the file `sentinel` exists, the first process
    to remove it dies at once (so exactly one worker of a job is killed)."""

    def __init__(self, sentinel: str | None = None) -> None:
        self.sentinel = sentinel

    def predict(self, frame: Any) -> np.ndarray:
        if self.sentinel:
            try:
                os.unlink(self.sentinel)
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        return 2 * np.asarray(frame["tenure"], dtype=float) + np.asarray(frame["seats"])
