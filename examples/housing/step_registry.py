"""Step 3: the best model is registered from its run, guarded by a promotion policy
(validation MAE at most POLICY_MAE) and promoted to champion through it."""

from __future__ import annotations

from typing import Any

import pandas as pd
from model import TARGET

import knot

POLICY = ["val_mae <= 4.5"]  # also what the loop's challengers must meet


def register_and_promote(run_id: str, model: Any, frame: pd.DataFrame) -> knot.ModelVersion:
    with knot.start_run(run_id=run_id):  # the run that trained it owns the version
        version = knot.log_model(
            model,
            "model",
            registered_model_name="housing",
            input_example=frame.drop(columns=[TARGET]).head(),
            description="Median home value of a Boston tract ($1000s).",
        )
    knot.set_promotion_policy("housing", POLICY)
    request = knot.promote("housing", version.version, to="champion", comment="best val_mae")
    print(
        f"3. registry: {version.uri} ({version.flavor}); policy {POLICY[0]} -> "
        f"{request.status.value}: models:/housing@champion is version {version.version}"
    )
    return version
