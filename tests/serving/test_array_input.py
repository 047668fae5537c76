"""The served scikit-learn model is given the plain 2-D array only where that cannot
change an answer: its fitted column names are the signature's, in order, and no step
selects columns by name. Every model answers as it does on a DataFrame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import knot
from knot.errors import Invalid
from knot.registry.entities import ColumnSpec, Signature
from knot.serving.columns import check_columns, take
from knot.serving.service import load_and_warm
from knot.serving.slot import _call
from knot.serving.sources import parse_source

FRAME = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
TARGET = [0, 0, 0, 1, 1, 1]


def _served(name: str, model: object, example: pd.DataFrame) -> object:
    knot.log_model(model, registered_model_name=name, input_example=example)
    return load_and_warm(parse_source(f"models:/{name}/1"))


@pytest.mark.parametrize(
    ("model", "example", "array"),
    [
        (LogisticRegression().fit(FRAME, TARGET), FRAME, True),
        (make_pipeline(StandardScaler(), LogisticRegression()).fit(FRAME, TARGET), FRAME, True),
        # columns selected by name need the DataFrame
        (
            make_pipeline(
                ColumnTransformer([("s", StandardScaler(), ["b", "a"])]), LogisticRegression()
            ).fit(FRAME, TARGET),
            FRAME,
            False,
        ),
        # fitted on an array: no names to check them against
        (LogisticRegression().fit(FRAME.to_numpy(), TARGET), FRAME, False),
    ],
    ids=["plain", "pipeline", "by-name", "no-names"],
)
def test_served_model_takes_an_array_only_where_answers_cannot_change(
    knot_home: Path, model: object, example: pd.DataFrame, array: bool
) -> None:
    served = _served("m", model, example)
    assert served.takes_array is array
    given = {c: list(example[c]) for c in example.columns}
    columns = check_columns(served.signature, given)
    expected = model.predict(example)  # type: ignore[attr-defined]
    assert np.array_equal(_call(served, [columns]), expected)
    # several requests in one call answer as each alone
    assert np.array_equal(_call(served, [columns] * 3), np.concatenate([expected] * 3))
    first = take(columns, 0, 1)  # and requests of different sizes
    assert np.array_equal(_call(served, [first, columns]), np.concatenate([expected[:1], expected]))


def _float_signature() -> Signature:
    return Signature(
        input_kind="dataframe",
        inputs=[ColumnSpec(name="a", type="float64"), ColumnSpec(name="b", type="float64")],
    )


def test_float_columns_read_in_one_call_hold_what_the_column_check_gives() -> None:
    signature = _float_signature()
    given = {"a": [1, 2.5, -3], "b": [0.0, 2**60, 1e300], "id": ["x", "y", "z"]}
    out = check_columns(signature, given)
    assert list(out) == ["a", "b"]  # the id is left out, as before
    for name in out:
        assert out[name].dtype == np.float64
        assert out[name].tolist() == [float(v) for v in given[name]]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (True, "True \\(bool\\) at row 1"),
        (None, "a null at row 1"),
        ("1", "'1' \\(str\\) at row 1"),
    ],
)
def test_a_wrong_value_among_float_columns_is_still_named(value: object, why: str) -> None:
    with pytest.raises(Invalid, match=f"input column 'b' has {why}"):
        check_columns(_float_signature(), {"a": [1.0, 2.0], "b": [1.0, value]})


def test_float_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(Invalid, match="different lengths"):
        check_columns(_float_signature(), {"a": [1.0, 2.0], "b": [1.0]})
