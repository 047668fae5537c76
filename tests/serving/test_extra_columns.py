"""Columns a model does not take (ids, labels) never break a prediction and never reach
the model, the same in `knot predict` (CSV or Parquet in, passed through to the output),
`knot.load_model(...).predict` and the service's /predict. The model is a scikit-learn
regression fitted on a DataFrame, which itself refuses any column it was not fitted on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import knot
from knot.serving.batch import score_file
from tests.cli.knot_process import assert_error, assert_ok, prepared_home, run
from tests.serving.conftest import serving

FEATURES = ["rooms", "age"]


def _houses(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rooms = rng.uniform(3, 9, n).round(2)
    age = rng.uniform(0, 100, n).round(1)
    return pd.DataFrame(
        {
            "house_id": [f"h-{i:04d}" for i in range(n)],  # passes through
            "age": age,  # out of the model's order: the signature's order is used
            "rooms": rooms,
            "price": (9.0 * rooms - 0.1 * age + rng.normal(0, 1, n)).round(2),  # the label
        }
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from sklearn.linear_model import LinearRegression

    with prepared_home(tmp_path_factory, "extra-columns") as home:
        train = _houses(200)
        model = LinearRegression().fit(train[FEATURES], train["price"])
        knot.log_model(model, registered_model_name="houses", input_example=train[FEATURES].head())
        knot.set_alias("houses", "champion", 1)
        yield home


def _expected(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(knot.load_model("models:/houses/1").model.predict(frame[FEATURES]))


@pytest.mark.parametrize(("given", "written"), [("csv", "parquet"), ("parquet", "csv")])
def test_knot_predict_reads_csv_or_parquet_and_passes_other_columns_through(
    home: Path, given: str, written: str
) -> None:
    frame = _houses(1_200)
    source, target = home.parent / f"in.{given}", home.parent / f"out.{written}"
    if given == "csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source)
    out = assert_ok(
        run(
            home,
            "predict",
            "models:/houses@champion",
            "--input",
            str(source),
            "--output",
            str(target),
            "--chunk-rows",
            "500",
        )
    )
    assert "scored 1200 rows" in out
    scored = pd.read_csv(target) if written == "csv" else pd.read_parquet(target)
    assert list(scored.columns) == ["house_id", "age", "rooms", "price", "prediction"]
    assert scored["house_id"].tolist() == frame["house_id"].tolist()
    assert scored["price"].tolist() == frame["price"].tolist()
    np.testing.assert_allclose(scored["prediction"], _expected(frame))


def test_a_missing_model_column_exits_2_naming_it_and_writes_nothing(home: Path) -> None:
    source, target = home.parent / "typo.csv", home.parent / "typo-out.csv"
    _houses(20).rename(columns={"rooms": "room"}).to_csv(source, index=False)
    done = run(home, "predict", "models:/houses/1", "--input", str(source), "--output", str(target))
    assert_error(done, "input column 'rooms' is missing", "given but not taken: 'house_id', 'room'")
    assert not target.exists()
    assert not list(home.parent.glob(".*tmp"))


def test_an_unreadable_csv_is_refused_naming_the_file(home: Path) -> None:
    source, target = home.parent / "ragged.csv", home.parent / "ragged-out.csv"
    source.write_bytes(b"rooms,age\n1,2,3\n")
    with pytest.raises(knot.Invalid, match=r"ragged.csv' is not a readable CSV table"):
        score_file("models:/houses/1", source, target)
    assert not target.exists()


def test_load_model_predict_leaves_other_columns_out(home: Path) -> None:
    frame = _houses(50)
    loaded = knot.load_model("models:/houses@champion")
    np.testing.assert_allclose(loaded.predict(frame), _expected(frame))
    with pytest.raises(knot.Invalid, match=r"lacks column.*'rooms'"):
        loaded.predict(frame.drop(columns="rooms"))


@pytest.mark.anyio
async def test_the_service_leaves_other_columns_out(home: Path) -> None:
    frame = _houses(5)
    records = frame.to_dict("records")
    csv = frame.to_csv(index=False).encode()
    async with serving(model="models:/houses@champion") as (client, _):
        answers = [
            await client.post("/predict", json={"inputs": records}),
            await client.post("/predict", json={"inputs": frame.to_dict("list")}),
            await client.post("/predict", content=csv, headers={"content-type": "text/csv"}),
        ]
        typo = await client.post(
            "/predict", json={"inputs": frame.rename(columns={"age": "agee"}).to_dict("records")}
        )
    for answer in answers:
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], _expected(frame))
    assert typo.status_code == 422
    assert typo.json()["field"] == "age"
    assert "given but not taken: 'house_id', 'agee', 'price'" in typo.json()["error"]
