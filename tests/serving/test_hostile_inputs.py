"""POST /predict with inputs a client should not send: every one is a 4xx JSON error that
names the column (and the row), the model never sees it, and the next request is
answered. Also the service's own OpenAPI document and its JSON 404/405."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

import knot
from tests.serving.conftest import EXAMPLE, row, serving
from tests.serving.models import Echo, RowSum

pytestmark = pytest.mark.anyio

COLUMNS = {"tenure": [1.0, 2.0], "plan": ["basic", "pro"], "seats": [1, 2]}


@pytest.mark.parametrize(
    ("inputs", "field", "says"),
    [
        ([row(tenure=True)], "tenure", "has True (bool) at row 0"),
        ([row(), row(seats=False)], "seats", "has False (bool) at row 1"),
        ({**COLUMNS, "tenure": [1.0, True]}, "tenure", "has True (bool) at row 1"),
        ([row(), row(tenure=None)], "tenure", "has a null at row 1"),
        ([row(plan=None)], "plan", "has a null at row 0"),
        ([row(seats=None)], "seats", "has a null at row 0"),
        ([row(tenure=[1.0, 2.0])], "tenure", "has a list at row 0, not one value"),
        ({**COLUMNS, "tenure": [[1.0, 2.0], [3.0]]}, "tenure", "has a list at row 0"),
        ({**COLUMNS, "plan": [["a"], ["b", "c"]]}, "plan", "has a list at row 0"),
        ([row(plan={"name": "pro"})], "plan", "has a dict at row 0"),
        ([row(seats=2**70)], "seats", "has 1.1805916207174113e+21 at row 0: so large"),
        ([row(seats=10**30)], "seats", "within -9223372036854775808..9223372036854775807"),
        ([row(seats=-(2**63) - 1)], "seats", "so large a number must be an integer"),
        ([row(seats=2**63)], "seats", "has 9223372036854775808 at row 0, outside"),
        ([row(seats=2.0**53 + 2)], "seats", "has 9007199254740994.0 at row 0: so large"),
        ({"tenure": [], "plan": [], "seats": []}, "inputs", "no rows"),
        ({**COLUMNS, "seats": "1,2"}, "inputs", "map each column to a list"),
        ([row(), 7], "inputs", "non-empty list of records"),
    ],
)
async def test_values_of_the_wrong_kind_get_422_naming_column_and_row(
    churn: Path, inputs: Any, field: str, says: str
) -> None:
    async with serving() as (client, service):
        answer = await client.post("/predict", json={"inputs": inputs})
        after = await client.post("/predict", json={"inputs": [row(30.0)]})
        calls = service.metrics.batch_rows.labels("churn", "1")._sum.get()
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["field"] == field
    assert says in answer.json()["error"]
    assert after.json()["predictions"] == [1]
    assert calls == 1  # only the good request reached the model


def _arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("content", "content_type", "field", "says"),
    [
        (b"tenure,plan,seats\n3,basic,1\n,pro,2\n", "text/csv", "tenure", "null at row 1"),
        (b"tenure,plan,seats\ntrue,basic,1\n", "text/csv", "tenure", "has True (bool)"),
        (b"tenure,plan,seats\n3,basic,1.5\n", "text/csv", "seats", "1.5 at row 0, not a whole"),
        (b"tenure,plan,seats\n3,basic,1e30\n", "text/csv", "seats", "within -922337"),
        (b"tenure,tenure,plan,seats\n1,2,basic,1\n", "text/csv", "tenure", "twice"),
        (
            _arrow(pa.table({**COLUMNS, "tenure": [[1.0], [2.0, 3.0]]})),
            "application/vnd.apache.arrow.stream",
            "tenure",
            "has a ndarray at row 0",
        ),
        (
            _arrow(pa.table({**COLUMNS, "seats": pa.array([1, None], pa.int64())})),
            "application/vnd.apache.arrow.stream",
            "seats",
            "null at row 1",
        ),
        (b'{"inputs": [{"tenure": 1.0', "application/json", "body", "not valid JSON"),
        (b'{"inputs": [], "more": 1}', "application/json", "more", "not part of a prediction"),
        (b"\xff\xfe", "application/json", "body", "not valid JSON"),
    ],
)
async def test_tables_and_bodies_that_do_not_fit_get_a_4xx_naming_the_field(
    churn: Path, content: bytes, content_type: str, field: str, says: str
) -> None:
    async with serving() as (client, _):
        answer = await client.post(
            "/predict", content=content, headers={"content-type": content_type}
        )
        after = await client.post("/predict", json={"inputs": [row(30.0)]})
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == field
    assert says in answer.json()["error"]
    assert after.status_code == 200


async def test_a_column_whose_example_had_a_missing_value_takes_nulls(knot_home: Path) -> None:
    example = EXAMPLE.assign(tenure=[1.0, np.nan])
    knot.log_model(Echo(), registered_model_name="echo", input_example=example)
    async with serving(model="models:/echo/1") as (client, _):
        answer = await client.post("/predict", json={"inputs": [row(), row(tenure=None)]})
        document = (await client.get("/openapi.json")).json()
        wrong = await client.post("/predict", json={"inputs": [row(plan=None)]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [12.0, None]  # NaN reached the model
    record = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    items = record["schema"]["properties"]["inputs"]["anyOf"][0]["items"]["properties"]
    assert items["tenure"]["type"] == ["number", "null"]
    assert items["plan"]["type"] == "string"  # it had no missing value: still refused
    assert wrong.status_code == 422 and wrong.json()["field"] == "plan"


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ([[1, 2, 3], [4, 5]], "rows of different lengths"),
        ([[1, True, 3]], "values of another type (bool)"),
        ([[1, None, 3]], "nulls"),
        ([[1, 2, 3, 4]], "shape [1, 4]"),
        ([], "shape [1, 0]"),
    ],
)
async def test_tensor_rows_of_the_wrong_shape_or_kind_get_422(
    knot_home: Path, inputs: Any, says: str
) -> None:
    knot.log_model(RowSum(), registered_model_name="sums", input_example=np.ones((2, 3)))
    async with serving(model="models:/sums/1") as (client, _):
        answer = await client.post("/predict", json={"inputs": inputs})
        good = await client.post("/predict", json={"inputs": [[1, 2, 3]]})
    assert answer.status_code in (400, 422), answer.text
    assert says in answer.json()["error"]
    assert good.json()["predictions"] == [6.0]


async def test_a_bad_request_id_header_is_400_and_routes_answer_json(churn: Path) -> None:
    async with serving() as (client, _):
        long = await client.post(
            "/predict", json={"inputs": [row()]}, headers={"x-request-id": "x" * 129}
        )
        spaced = await client.post(
            "/feedback", json={"labels": []}, headers={"x-request-id": "a b"}
        )
        method = await client.get("/predict")
        nowhere = await client.post("/nowhere", json={})
    assert (long.status_code, long.json()["field"]) == (400, "x-request-id")
    assert (spaced.status_code, spaced.json()["field"]) == (400, "x-request-id")
    assert method.status_code == 405 and method.headers["allow"] == "POST"
    assert "GET is not allowed on /predict" in method.json()["error"]
    assert nowhere.status_code == 404 and "no route POST /nowhere" in nowhere.json()["error"]


async def test_the_openapi_document_describes_the_model_and_the_4xx_answers(churn: Path) -> None:
    async with serving() as (client, _):
        document = (await client.get("/openapi.json")).json()
    predict = document["paths"]["/predict"]["post"]
    assert set(predict["responses"]) == {"200", "400", "413", "415", "422", "503"}
    body = predict["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False and body["required"] == ["inputs"]
    records, columns = body["properties"]["inputs"]["anyOf"]
    record = records["items"]
    assert record["required"] == ["tenure", "plan", "seats"]
    assert "additionalProperties" not in record  # other columns are left out, not refused
    assert columns["additionalProperties"] == {"type": "array"}
    assert record["properties"]["tenure"]["type"] == "number"  # JSON Schema: not a boolean
    assert record["properties"]["plan"] == {"type": "string"}
    assert record["properties"]["seats"] == {
        "type": "integer",
        "minimum": -(2**63),
        "exclusiveMaximum": 2**63,
    }
    assert columns["properties"]["seats"]["items"] == record["properties"]["seats"]
    feedback = document["paths"]["/feedback"]["post"]
    assert set(feedback["responses"]) == {"200", "400", "404", "413", "415", "422", "503"}
    label = feedback["requestBody"]["content"]["application/json"]["schema"]
    item = label["properties"]["labels"]["items"]
    assert item["properties"]["label"]["type"] == "integer"  # the model predicts int64
    assert item["properties"]["row"]["minimum"] == 0
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "field", "request_id"]


def test_the_signature_notes_which_columns_had_missing_values() -> None:
    from knot.registry.signature import infer_signature

    frame = pd.DataFrame({"a": [1.0, None], "b": ["x", None], "c": [1, 2]})
    signature = infer_signature(frame)
    assert signature is not None
    assert [s.nullable for s in signature.inputs] == [True, True, False]
    tensor = infer_signature(np.asarray([[1.0, np.nan]]))
    assert tensor is not None and tensor.inputs[0].nullable
