"""The typed prediction log: features as a struct of the signature's Arrow types (a list
of doubles for a tensor model), typed predictions, positive-class scores of a binary
classifier, and the dataset that DuckDB windows read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

import knot
from knot.serving.logs.predictions import prediction_log_dataset, read_prediction_log
from tests.serving.conftest import row, serving
from tests.serving.models import RowSum

pytestmark = pytest.mark.anyio


async def test_features_and_predictions_keep_their_types(churn: Path, knot_home: Path) -> None:
    async with serving() as (client, _):
        await client.post(
            "/predict",
            json={"inputs": [row(3.0), row(30.0, "pro", 4)]},
            headers={"x-request-id": "typed"},
        )
    dataset = prediction_log_dataset("churn")
    schema = dataset.schema
    assert schema.field("features").type == pa.struct(
        [("tenure", pa.float64()), ("plan", pa.string()), ("seats", pa.int64())]
    )
    assert schema.field("prediction").type == pa.int64()
    assert schema.field("score").type == pa.float64()
    assert schema.field("row").type == pa.int32()
    assert schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("version").type == pa.int32()
    table = dataset.to_table()
    assert table.column("features").to_pylist() == [row(3.0), row(30.0, "pro", 4)]
    assert table.column("prediction").to_pylist() == [0, 1]
    assert table.column("score").null_count == 2  # Threshold has no predict_proba


async def test_a_binary_classifier_is_scored_off_the_hot_path(knot_home: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.uniform(0, 40, 200), "seats": rng.uniform(1, 9, 200)})
    model = LogisticRegression().fit(frame, (frame.tenure > 20).astype(int))
    knot.log_model(model, registered_model_name="clf", input_example=frame.head(2))
    knot.set_alias("clf", "champion", 1)
    rows = [{"tenure": 5.0, "seats": 2.0}, {"tenure": 35.0, "seats": 3.0}]
    async with serving(model="models:/clf@champion") as (client, _):
        answer = await client.post("/predict", json={"inputs": rows})
    assert answer.status_code == 200
    logged = read_prediction_log("clf")
    expected = model.predict_proba(pd.DataFrame(rows))[:, 1]
    assert np.allclose(logged.score, expected)
    assert logged.score.iloc[0] < 0.5 < logged.score.iloc[1]
    assert list(logged.prediction) == [0, 1]


async def test_a_tensor_model_logs_rows_as_lists_of_doubles(knot_home: Path) -> None:
    knot.log_model(RowSum(), registered_model_name="sums", input_example=np.ones((2, 3)))
    knot.set_alias("sums", "champion", 1)
    async with serving(model="models:/sums@champion") as (client, _):
        await client.post("/predict", json={"inputs": [[1, 2, 3], [4, 5, 6]]})
    dataset = prediction_log_dataset("sums")
    assert dataset.schema.field("features").type == pa.list_(pa.float64())
    assert dataset.schema.field("prediction").type == pa.float64()
    table = dataset.to_table()
    assert table.column("features").to_pylist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert table.column("prediction").to_pylist() == [6.0, 15.0]


async def test_duckdb_reads_windows_of_the_dataset_across_versions(churn: Path) -> None:
    async with serving() as (client, service):
        for _ in range(3):
            await client.post("/predict", json={"inputs": [row(30.0)]})
        knot.set_alias("churn", "champion", 2)
        for _ in range(6000):  # up to 2 minutes on a loaded machine
            if service.champion.served.version == 2:
                break
            await asyncio.sleep(0.02)
        for _ in range(2):
            await client.post("/predict", json={"inputs": [row(30.0)]})
    db = duckdb.connect()
    db.register("log", prediction_log_dataset("churn"))
    counts = db.sql(
        "SELECT version, count(*) AS n, avg(prediction) AS mean, "
        "avg(features.tenure) AS tenure FROM log GROUP BY version ORDER BY version"
    ).fetchall()
    assert counts == [(1, 3, 1.0, 30.0), (2, 2, 11.0, 30.0)]


def test_nothing_logged_is_none_or_an_empty_frame(knot_home: Path) -> None:
    assert prediction_log_dataset("churn") is None
    frame = read_prediction_log("churn")
    assert frame.empty
    assert {"request_id", "features", "prediction", "score"} <= set(frame.columns)
