"""`knot models card` shows the validation report recorded for each dataset version the
version's run used, through the installed entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.cli.knot_process import assert_ok, prepared_home, run

import knot


def test_the_card_shows_each_training_datasets_validation_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"tenure": rng.integers(0, 72, 300), "charges": rng.normal(70, 20, 300)})
    frame["churned"] = (frame["tenure"] < 24).astype(int)
    rules = {"columns": {"tenure": {"min": 0, "max": 72}, "charges": {"not_null": True}}}
    with prepared_home(tmp_path_factory, "card") as home:
        version = knot.register_dataset("customers", frame, rules=rules)
        with knot.start_run("train", experiment="card") as r:
            r.use_dataset(version.ref)
            X, y = frame[["tenure", "charges"]], frame["churned"]
            model = LogisticRegression(max_iter=300).fit(X, y)
            knot.log_model(model, "model", registered_model_name="card", input_example=X.head())
        text = assert_ok(run(home, "models", "card", "card", "1"))
    assert "Validation of the training data" in text
    assert f"| {version.ref} | input |" in text
    line = next(row for row in text.splitlines() if row.startswith(f"| {version.ref} | 20"))
    assert "passed" in line and "4/4 rules passed over 300 rows" in line
