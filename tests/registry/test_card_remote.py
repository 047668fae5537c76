"""`knot models card` through a live server: the installed entry point with only
KNOT_STORE=http:// shows the validation report the server recorded for each dataset
version the model's run used (read through the server's data routes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.backends import StoreBackend

import knot

pytestmark = pytest.mark.server


def test_the_card_through_a_server_shows_each_training_datasets_validation(
    remote_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote_backend.use(monkeypatch)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"tenure": rng.integers(0, 72, 300), "charges": rng.normal(70, 20, 300)})
    frame["churned"] = (frame["tenure"] < 24).astype(int)
    rules = {"columns": {"tenure": {"min": 0, "max": 72}, "charges": {"not_null": True}}}
    version = knot.register_dataset("customers", frame, rules=rules)
    with knot.start_run("train", experiment="card") as r:
        r.use_dataset(version.ref)
        X, y = frame[["tenure", "charges"]], frame["churned"]
        model = LogisticRegression(max_iter=300).fit(X, y)
        knot.log_model(model, "model", registered_model_name="card", input_example=X.head())
    command = [str(Path(sys.executable).parent / "knot"), "models", "card", "card", "1"]
    shown = subprocess.run(command, capture_output=True, text=True, env={**os.environ}, check=False)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Validation of the training data" in text
    assert f"| {version.ref} | input |" in text
    line = next(row for row in text.splitlines() if row.startswith(f"| {version.ref} | 20"))
    assert "passed" in line and "4/4 rules passed over 300 rows" in line
    missing = subprocess.run(
        [*command[:-1], "7"], capture_output=True, text=True, env={**os.environ}, check=False
    )
    assert missing.returncode == 2 and "no version 7" in missing.stderr
    assert not (knot_home / "knot.db").exists() and not (knot_home / "artifacts").exists()
