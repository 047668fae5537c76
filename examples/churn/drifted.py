"""A market that moved: the traffic the demo sends after the champion went live.

New customers arrive on month-to-month contracts with fibre and higher bills, and a
competitor's budget offer makes the ones with the lowest of those bills leave: the inputs drift
(tenure, charges, contract) and the old relation between inputs and churn breaks, so
the champion's accuracy falls once the labels come in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET = "churn"


def drifted_customers(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` customers of the moved market, drawn from `frame` and shifted, with labels."""
    rng = np.random.default_rng(seed)
    rows = frame.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    rows["tenure"] = np.minimum(rng.poisson(4, n), 120).astype(rows["tenure"].dtype)
    rows["monthly_charges"] = np.round(rows["monthly_charges"] * 1.25 + 12.0, 2)
    rows["total_charges"] = np.round(rows["monthly_charges"] * rows["tenure"], 2)
    rows["contract"] = rng.choice(
        ["Month-to-month", "One year", "Two year"], size=n, p=[0.85, 0.1, 0.05]
    )
    rows["internet_service"] = rng.choice(["Fiber optic", "DSL", "No"], size=n, p=[0.8, 0.15, 0.05])
    # the competitor's budget offer: the lower the bill, the likelier the customer leaves
    leave = 1.0 / (1.0 + np.exp((rows["monthly_charges"].to_numpy() - 95.0) / 6.0))
    rows[TARGET] = np.where(rng.random(n) < leave, "Yes", "No")
    return rows


def ordinary_customers(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` customers like the ones the champion was trained on, with their true labels."""
    return frame.sample(n, replace=True, random_state=seed).reset_index(drop=True)
