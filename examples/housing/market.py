"""The market after the demo's model went live: prices rose. New sales look like the
tracts the model learned from (the inputs barely move), but every home now sells for
about a third more, so the served model's error grows once the sale prices come back
as labels. Rows are drawn from the table and jittered; `seed` makes them repeatable."""

from __future__ import annotations

import numpy as np
import pandas as pd
from model import TARGET

RISE = 1.35  # prices after the rise, as a multiple of before


def sales_after_the_rise(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` sales of the risen market, with their prices."""
    rng = np.random.default_rng(seed)
    rows = frame.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    rows["rm"] = (rows["rm"] + rng.normal(0, 0.05, n)).round(3)
    rows["lstat"] = (rows["lstat"] * rng.uniform(0.97, 1.03, n)).round(2)
    noise = rng.normal(0, 1.0, n)
    rows[TARGET] = (rows[TARGET] * RISE + noise).clip(lower=5.0).round(1)
    return rows
