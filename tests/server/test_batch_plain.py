"""POST /api/v1/batch parses plain metric columns without a validator per value; any
body that is not plain goes through the full parser, so both accept the same bodies,
make the same rows, and refuse the same bodies with the same errors."""

from __future__ import annotations

import math

import orjson
import pytest
from pydantic import ValidationError

from knot.errors import Invalid
from knot.server.routes.batch import decode_batch
from knot.server.routes.batch_plain import plain_metrics

RUN = "a" * 32


def _body(**metrics: object) -> bytes:
    columns = {"run_id": RUN, "key": ["loss", "acc"], "value": [0.5, 1.0]}
    columns |= {"step": [1, 2], "timestamp": [10, 20]}
    return orjson.dumps({"metrics": columns | metrics, "writer_id": "b" * 32, "seq": 3})


def test_a_plain_body_takes_the_fast_path_and_makes_the_rows() -> None:
    assert plain_metrics(_body()) is not None
    batch = decode_batch(_body())
    assert batch.metrics == [(RUN, "loss", 0.5, 1, 10), (RUN, "acc", 1.0, 2, 20)]
    assert (batch.writer_id, batch.seq) == ("b" * 32, 3)


@pytest.mark.parametrize(
    "metrics",
    [
        {"value": [1, 2.5]},  # a whole number among the values is still a float
        {"value": ["NaN", "-Infinity"]},
        {"step": [1.0, 2]},  # JSON's 1.0 is the whole number 1
        {"run_id": [RUN, "c" * 32]},
    ],
)
def test_bodies_the_full_parser_takes_make_the_same_kind_of_rows(metrics: dict) -> None:
    body = _body(**metrics)
    batch = decode_batch(body)
    assert [type(m[2]) for m in batch.metrics] == [float, float]
    assert [type(m[3]) for m in batch.metrics] == [int, int]
    if "NaN" in metrics.get("value", []):
        assert math.isnan(batch.metrics[0][2]) and batch.metrics[1][2] == -math.inf


@pytest.mark.parametrize(
    "metrics, where",
    [
        ({"value": [True, 1.0]}, "value"),
        ({"value": ["high", 1.0]}, "value"),
        ({"step": [2**63, 1]}, "step"),
        ({"timestamp": [10]}, "one value per row"),
        ({"extra": [1, 2]}, "extra"),
    ],
)
def test_bad_columns_get_the_full_parsers_error(metrics: dict, where: str) -> None:
    body = _body(**metrics)
    assert plain_metrics(body) is None
    with pytest.raises(ValidationError, match=where):
        decode_batch(body)


def test_a_bad_metric_key_names_the_field() -> None:
    with pytest.raises(Invalid) as info:
        decode_batch(_body(key=["loss", "bad key!"]))
    assert info.value.field == "metrics.key"


def test_a_bad_section_beside_plain_metrics_is_refused() -> None:
    body = orjson.loads(_body())
    body["seq"] = True  # not a number
    with pytest.raises(ValidationError, match="seq"):
        decode_batch(orjson.dumps(body))
