"""Delayed labels: POST /feedback and append_labels store them durably; bad bodies are
refused naming the field with nothing written; a later label for a row wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from knot.errors import Invalid
from knot.serving.logs.labels import append_labels, label_dataset, labels_dir, latest_labels
from tests.serving.conftest import row, serving

pytestmark = pytest.mark.anyio


def test_labels_are_appended_and_the_latest_per_row_wins(knot_home: Path) -> None:
    assert label_dataset("churn") is None
    assert latest_labels("churn").num_rows == 0
    assert (
        append_labels(
            "churn",
            [{"request_id": "a", "label": 1}, {"request_id": "b", "row": 2, "label": "yes"}],
        )
        == 2
    )
    assert append_labels("churn", [{"request_id": "a", "row": 0, "label": 0}]) == 1
    assert append_labels("churn", [{"request_id": "c", "label": {"score": 0.5}}]) == 1
    everything = label_dataset("churn").to_table()
    assert everything.num_rows == 4
    assert everything.schema.field("row").type == pa.int32()
    assert everything.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert everything.schema.field("date").type == pa.date32()
    latest = latest_labels("churn")
    got = {(r["request_id"], r["row"]): r["label"] for r in latest.to_pylist()}
    assert got == {("a", 0): "0", ("b", 2): '"yes"', ("c", 0): '{"score":0.5}'}
    files = list(
        (knot_home / "predictions" / "labels" / "model=churn").glob("date=*/part-*.parquet")
    )
    assert len(files) == 3
    assert not list(labels_dir("churn").glob("date=*/.*"))


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ("not a list", "labels"),
        ([], "labels"),
        ([{"request_id": "a", "label": 1}, 7], "labels.1"),
        ([{"label": 1}], "labels.0.request_id"),
        ([{"request_id": "", "label": 1}], "labels.0.request_id"),
        ([{"request_id": 5, "label": 1}], "labels.0.request_id"),
        ([{"request_id": "a", "row": -1, "label": 1}], "labels.0.row"),
        ([{"request_id": "a", "row": "0", "label": 1}], "labels.0.row"),
        ([{"request_id": "a", "row": True, "label": 1}], "labels.0.row"),
        ([{"request_id": "a"}], "labels.0.label"),
        ([{"request_id": "a", "label": 1, "colour": "red"}], "labels.0.colour"),
        ([{"request_id": "a", "label": object()}], "labels.0.label"),
    ],
)
def test_bad_labels_name_the_field_and_write_nothing(
    knot_home: Path, labels: Any, field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        append_labels("churn", labels)
    assert caught.value.field == field
    assert label_dataset("churn") is None


def test_a_model_name_that_is_no_folder_name_is_refused(knot_home: Path) -> None:
    with pytest.raises(Invalid, match=r"model name '\.\./x' is not allowed"):
        append_labels("../x", [{"request_id": "a", "label": 1}])


async def test_feedback_on_the_service_stores_labels(churn: Path) -> None:
    async with serving() as (client, _):
        answer = await client.post("/predict", json={"inputs": [row(), row()]})
        request_id = answer.json()["request_id"]
        labels = [
            {"request_id": request_id, "label": 1},
            {"request_id": request_id, "row": 1, "label": 0},
        ]
        stored = await client.post("/feedback", json={"labels": labels})
    assert stored.status_code == 200
    assert stored.json()["accepted"] == 2
    got = {(r["request_id"], r["row"]): r["label"] for r in latest_labels("churn").to_pylist()}
    assert got == {(request_id, 0): "1", (request_id, 1): "0"}


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b'{"labels": [{"request_id": "a"}]}', {}, 422, "labels.0.label"),
        (b'{"labels": [{"request_id": "a", "row": "x", "label": 1}]}', {}, 422, "labels.0.row"),
        (b'{"label": []}', {}, 422, "labels"),
        (b'{"labels": [{"request_id": "a", "label": 1}], "model": "x"}', {}, 422, "model"),
        (b"[1, 2]", {}, 422, "labels"),
        (b"{not json", {}, 400, "body"),
        (b"", {}, 400, "body"),
        (b"request_id,label\na,1\n", {"content-type": "text/csv"}, 415, "content-type"),
    ],
)
async def test_bad_feedback_bodies_get_a_4xx_naming_the_field(
    churn: Path, body: bytes, headers: dict[str, str], status: int, field: str
) -> None:
    async with serving() as (client, _):
        answer = await client.post(
            "/feedback", content=body, headers={"content-type": "application/json", **headers}
        )
    assert answer.status_code == status
    assert answer.json()["field"] == field
    assert label_dataset("churn") is None
