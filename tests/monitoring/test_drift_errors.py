"""Bad input to `knot.drift` gets an Invalid naming the column or argument and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from knot.errors import Invalid
from knot.monitoring.drift.batch import drift

rng = np.random.default_rng(0)
REF = pd.DataFrame({"x": rng.normal(size=2000), "plan": rng.choice(["a", "b"], 2000)})
CUR = pd.DataFrame({"x": rng.normal(size=1500), "plan": rng.choice(["a", "b"], 1500)})


def _fails(*words: str, **kwargs: Any) -> None:
    reference = kwargs.pop("reference", REF)
    current = kwargs.pop("current", CUR)
    with pytest.raises(Invalid) as caught:
        drift(reference, current, **kwargs)
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_a_column_missing_on_either_side() -> None:
    _fails("'age'", "not in the reference", "columns=", current=CUR.assign(age=1.0))
    _fails("'x'", "not in the current data", current=CUR[["plan"]], columns=["x"])
    _fails("'x'", "not in the current data", columns=["x", "x"], current=CUR[["plan"]])


def test_numeric_on_one_side_text_on_the_other() -> None:
    _fails(
        "'x'",
        "numeric in the reference",
        "categorical in the current",
        "cast",
        current=CUR.assign(x=CUR["x"].astype(str)),
    )


def test_empty_frames() -> None:
    _fails("current has no rows", current=CUR.iloc[:0])
    _fails("reference has no rows", reference=REF.iloc[:0])


def test_unknown_tests_and_tests_that_do_not_fit_the_column() -> None:
    _fails("'kolmogorov'", "'x'", "ks", tests={"x": "kolmogorov"})
    _fails("'ks'", "'plan'", "categorical", "chisquare", tests={"plan": "ks"})
    _fails("'wasserstein'", "'plan'", tests={"plan": "wasserstein"})
    _fails("not compared", "'nope'", tests={"nope": "ks"})


@pytest.mark.parametrize("value", [-0.1, 0, float("nan"), float("inf"), "0.1", True])
def test_bad_thresholds(value: object) -> None:
    _fails("threshold", "'x'", thresholds={"x": value})


def test_a_p_value_threshold_must_be_below_one() -> None:
    _fails("p-value", "'x'", "below 1", tests={"x": "ks"}, thresholds={"x": 1.5})
    _fails("thresholds", "'nope'", thresholds={"nope": 0.1})


def test_bad_drift_share_and_columns() -> None:
    _fails("drift_share", drift_share=0)
    _fails("drift_share", drift_share=1.5)
    _fails("list of column names", columns="x")


def test_bad_sources(tmp_path: Path) -> None:
    _fails("pandas DataFrame", "dict", reference={"x": [1.0]})
    _fails(
        "existing file", str(tmp_path / "nope.parquet"), reference=str(tmp_path / "nope.parquet")
    )
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    _fails("could not be read", current=junk)
    _fails("names no dataset", reference="dataset:")
    _fails("names no dataset", reference="profile:")


def test_columns_drift_cannot_compare() -> None:
    binary = CUR.assign(blob=[b"x"] * len(CUR))
    _fails("'blob'", "cannot compare", current=binary, columns=["blob"])
    only_blobs = pd.DataFrame({"blob": [b"x"] * 3})
    _fails("no numeric or categorical columns", reference=only_blobs, current=only_blobs)
