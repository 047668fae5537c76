"""Labels are checked against the request they are for, at ingestion: an unknown request
id, a row the request did not have, or a label of another kind than the predictions is
a 422 naming labels.N.FIELD, and nothing of the body is stored. The same checks hold
for knot.feedback, against the prediction log on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import knot
from knot.errors import Invalid, NotFound
from knot.serving.logs import label_checks
from knot.serving.logs.labels import label_dataset, latest_labels
from tests.serving.conftest import EXAMPLE, row, serving
from tests.serving.models import Echo, Plans

pytestmark = pytest.mark.anyio


async def _predict(client: Any, rows: int = 2) -> str:
    answer = await client.post("/predict", json={"inputs": [row(30.0)] * rows})
    assert answer.status_code == 200, answer.text
    request_id: str = answer.json()["request_id"]
    return request_id


@pytest.mark.parametrize(
    ("label", "status", "field", "says"),
    [
        ({"request_id": "nobody", "label": 1}, 404, "labels.1.request_id", "is not a request"),
        ({"row": 2, "label": 1}, 404, "labels.1.row", "had 2 row(s): give one of rows 0 to 1"),
        ({"label": 2**63}, 422, "labels.1.label", "must be a whole number"),
        ({"label": "yes"}, 422, "labels.1.label", "whole-number predictions, so its label must"),
        ({"label": True}, 422, "labels.1.label", "is true (bool)"),
        ({"label": 0.5}, 422, "labels.1.label", "must be a whole number"),
        ({"label": None}, 422, "labels.1.label", "is null"),
    ],
)
async def test_a_label_that_fits_no_answered_request_is_refused_and_nothing_is_stored(
    churn: Path, label: dict[str, Any], status: int, field: str, says: str
) -> None:
    async with serving() as (client, _):
        request_id = await _predict(client)
        good = {"request_id": request_id, "row": 0, "label": 1}
        answer = await client.post(
            "/feedback", json={"labels": [good, {"request_id": request_id, **label}]}
        )
        after = await client.post("/feedback", json={"labels": [good]})
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert says in answer.json()["error"]
    assert after.status_code == 200  # the same connection, the same service: still fine
    assert latest_labels("churn").num_rows == 1  # only the later body's label


async def test_a_whole_float_is_an_integer_label(churn: Path) -> None:
    async with serving() as (client, _):
        request_id = await _predict(client)
        answer = await client.post(
            "/feedback", json={"labels": [{"request_id": request_id, "row": 1, "label": 1.0}]}
        )
    assert answer.status_code == 200, answer.text


async def test_a_regressor_takes_numbers_and_a_string_classifier_strings(knot_home: Path) -> None:
    knot.log_model(Echo(), registered_model_name="echo", input_example=EXAMPLE)
    knot.log_model(Plans(), registered_model_name="plans", input_example=EXAMPLE)
    async with serving(model="models:/echo/1") as (client, _):
        rid = await _predict(client, rows=1)
        word = await client.post(
            "/feedback", json={"labels": [{"request_id": rid, "label": "high"}]}
        )
        flag = await client.post(
            "/feedback", json={"labels": [{"request_id": rid, "label": False}]}
        )
        number = await client.post(
            "/feedback", json={"labels": [{"request_id": rid, "label": 3.5}]}
        )
    async with serving(model="models:/plans/1") as (client, _):
        rid = await _predict(client, rows=1)
        count = await client.post("/feedback", json={"labels": [{"request_id": rid, "label": 1}]})
        name = await client.post(
            "/feedback", json={"labels": [{"request_id": rid, "label": "PRO"}]}
        )
    assert word.status_code == 422 and "numeric predictions" in word.json()["error"]
    assert flag.status_code == 422 and flag.json()["field"] == "labels.0.label"
    assert number.status_code == 200, number.text
    assert count.status_code == 422 and "must be a string" in count.json()["error"]
    assert name.status_code == 200, name.text


async def test_a_request_answered_before_a_restart_is_found_in_the_prediction_log(
    churn: Path,
) -> None:
    async with serving() as (client, _):
        request_id = await _predict(client, rows=3)
    # a new service (its memory empty) reads the log the first one wrote when it stopped
    async with serving() as (client, _):
        late = await client.post(
            "/feedback", json={"labels": [{"request_id": request_id, "row": 2, "label": 0}]}
        )
        past = await client.post(
            "/feedback", json={"labels": [{"request_id": request_id, "row": 3, "label": 0}]}
        )
        word = await client.post(
            "/feedback", json={"labels": [{"request_id": request_id, "label": "no"}]}
        )
    assert late.status_code == 200, late.text
    assert past.status_code == 404 and past.json()["field"] == "labels.0.row"
    assert word.status_code == 422 and word.json()["field"] == "labels.0.label"


async def test_knot_feedback_checks_against_the_prediction_log(
    churn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(label_checks, "SIBLING_WAIT_S", 0.0)  # no service is writing
    async with serving() as (client, _):
        request_id = await _predict(client)
    knot.feedback("churn", request_id, 1, row=1)
    with pytest.raises(NotFound) as unknown:
        knot.feedback("churn", "nobody-asked", 1)
    with pytest.raises(NotFound) as past:
        knot.feedback("churn", request_id, 1, row=5)
    with pytest.raises(Invalid) as word:
        knot.feedback("churn", request_id, "yes")
    assert unknown.value.field == "labels.0.request_id"
    assert past.value.field == "labels.0.row"
    assert word.value.field == "labels.0.label"
    stored = label_dataset("churn")
    assert stored is not None and stored.count_rows() == 1
