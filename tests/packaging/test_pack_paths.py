"""`knot pack models:/...` turns dataset names into file paths inside its temporary
folder: a name that climbs out is refused at registration, and a hostile name written
straight into the database is refused by `knot pack` before anything is written."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import knot
from knot.errors import Invalid

KNOT = Path(sys.executable).parent / "knot"
EVIL = "a/../../../x"  # from <tmp>/knot-pack-*/datasets/, three '..' leave the temp folder


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame({"tenure": np.arange(40.0), "charges": np.linspace(20, 90, 40)})
    frame["churn"] = (frame["tenure"] < 20).astype(int)
    return frame


@pytest.mark.parametrize("name", [EVIL, "a/../b", "a/./b", "a//b", "/abs", "a\\b"])
def test_a_dataset_name_that_is_not_a_clean_path_is_refused(knot_home: Path, name: str) -> None:
    with pytest.raises(Invalid, match="dataset name") as caught:
        knot.register_dataset(name, _frame())
    assert repr(name) in caught.value.message and caught.value.field == "name"
    assert knot.list_datasets() == []
    assert knot.register_dataset("telco/churn", _frame()).name == "telco/churn"


def test_pack_refuses_a_hostile_dataset_name_from_the_database(
    knot_home: Path, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    knot.register_dataset("customers", _frame())
    with knot.start_run("train", experiment="churn"):
        data = knot.load_dataset("customers@1")
        X = data[["tenure", "charges"]]
        knot.log_model(LogisticRegression().fit(X, data["churn"]), registered_model_name="churn")
    knot.reset()
    with sqlite3.connect(knot_home / "knot.db") as db:  # what a database writer could do
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE datasets SET name = ?", (EVIL,))
        db.execute("UPDATE dataset_versions SET name = ?", (EVIL,))
        db.execute("UPDATE model_versions SET datasets = ?", (json.dumps([f"{EVIL}@1"]),))
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "KNOT_HOME": str(knot_home), "TMPDIR": str(temp)}
    done = subprocess.run(
        [str(KNOT), "pack", "models:/churn/1"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stdout + done.stderr
    error = done.stderr.strip()
    assert error.startswith(f"error: dataset reference {EVIL + '@1'!r} is malformed")
    assert f"dataset name {EVIL!r} is not allowed" in error and "\n" not in error
    assert list(temp.iterdir()) == []  # the temp folder is gone and nothing sits beside it
    assert not [p for p in tmp_path.rglob("x-v1.parquet")]
