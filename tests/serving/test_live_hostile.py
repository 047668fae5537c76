"""A real `knot serve` and a client that sends what it should not: every bad request is a
4xx JSON error naming the field, on one keep-alive connection that the next request
still uses; nothing of a refused /feedback body is stored; and schemathesis, driven by
the service's own /openapi.json, finds no server error and no answer the document does
not describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from knot.serving.logs.labels import latest_labels
from tests.fuzz import schemathesis
from tests.serving.conftest import row
from tests.serving.live import knot_serve

pytestmark = pytest.mark.server

LIMIT_MB = 0.05  # --max-body-mb: 52,428 bytes
GOOD = {"inputs": [row(30.0)]}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`knot serve` of churn v1 (int predictions) in a home of this module's own."""
    import knot
    from tests.serving.models import Threshold

    home = tmp_path_factory.mktemp("hostile") / "knot-home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KNOT_HOME", str(home))
        for name in ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_EXPERIMENT"):
            patch.delenv(name, raising=False)
        knot.reset()
        example = pd.DataFrame({"tenure": [1.0, 20.0], "plan": ["basic", "pro"], "seats": [1, 5]})
        knot.log_model(Threshold(10.0), registered_model_name="churn", input_example=example)
        knot.set_alias("churn", "champion", 1)
        with knot_serve("models:/churn@champion", "--max-body-mb", str(LIMIT_MB)) as (url, _):
            yield url, home
        knot.reset()


def _local_port(answer: httpx.Response) -> int:
    """The client's end of the connection the answer came on."""
    port: int = answer.extensions["network_stream"].get_extra_info("socket").getsockname()[1]
    return port


def _json(payload: Any) -> dict[str, Any]:
    return {"json": payload}


def _raw(content: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"content": content, "headers": {"content-type": content_type}}


def _predict_cases() -> list[tuple[dict[str, Any], int, str]]:
    columns = {"tenure": [1.0, 2.0], "plan": ["basic", "pro"], "seats": [1, 2]}
    return [
        (_json({"inputs": {**columns, "tenure": [[1.0, 2.0], [3.0]]}}), 422, "tenure"),
        (_json({"inputs": [row(tenure=[[1.0], [2.0, 3.0]])]}), 422, "tenure"),
        (_json({"inputs": [row(tenure="long")]}), 422, "tenure"),
        (_json({"inputs": [row(), row(tenure=None)]}), 422, "tenure"),
        (_json({"inputs": [row(seats=True)]}), 422, "seats"),
        (_json({"inputs": [{"tenur": 1.0, "plan": "pro", "seats": 1}]}), 422, "tenure"),
        (_json({"inputs": [{"tenure": 1.0, "plan": "pro"}]}), 422, "seats"),
        (_json({"inputs": [row(seats=2**64)]}), 422, "seats"),
        (_json({"inputs": [row(-1.0)]}), 422, "inputs"),  # the model itself refuses it
        (_raw(b""), 400, "body"),
        (_raw(b'{"inputs": [{"tenure": '), 400, "body"),
        (_raw(b"tenure=1", "application/x-www-form-urlencoded"), 415, "content-type"),
        (_raw(b'{"inputs": [' + b'{"tenure": 1.0},' * 20_000 + b"{}]}"), 413, "body"),
        ({**_json(GOOD), "headers": {"x-request-id": "no spaces please"}}, 400, "x-request-id"),
    ]


def test_bad_predictions_get_a_4xx_and_the_connection_lives_on(
    service: tuple[str, Path],
) -> None:
    url, _ = service
    with httpx.Client(base_url=url, timeout=60) as client:
        first = client.post("/predict", json=GOOD)
        ports = {_local_port(first)}
        for request, status, field in _predict_cases():
            bad = client.post("/predict", **request)
            assert bad.status_code == status, bad.text
            assert bad.headers["content-type"] == "application/json"
            assert bad.json()["field"] == field, bad.text
            after = client.post("/predict", json=GOOD)
            assert after.status_code == 200, after.text
            ports |= {_local_port(bad), _local_port(after)}
        wrong_method = client.get("/predict")
        ports.add(_local_port(client.post("/predict", json=GOOD)))
    assert first.json()["predictions"] == [1]
    assert wrong_method.status_code == 405 and wrong_method.json()["request_id"]
    assert len(ports) == 1  # one connection carried every request


def test_bad_labels_are_refused_on_the_same_connection_and_none_is_stored(
    service: tuple[str, Path],
) -> None:
    url, home = service
    with httpx.Client(base_url=url, timeout=60) as client:
        answer = client.post("/predict", json={"inputs": [row(30.0), row(3.0)]})
        request_id = answer.json()["request_id"]
        ports = {_local_port(answer)}
        cases = [
            ({"request_id": "never-answered", "label": 1}, 404, "labels.0.request_id"),
            ({"request_id": request_id, "row": 2, "label": 1}, 404, "labels.0.row"),
            ({"request_id": request_id, "label": "yes"}, 422, "labels.0.label"),
            ({"request_id": request_id, "label": True}, 422, "labels.0.label"),
        ]
        for label, status, field in cases:
            bad = client.post("/feedback", json={"labels": [label]})
            assert (bad.status_code, bad.json()["field"]) == (status, field), bad.text
            ports.add(_local_port(bad))
        broken = client.post("/feedback", **_raw(b'{"labels": ['))
        good = client.post("/feedback", json={"labels": [{"request_id": request_id, "label": 1}]})
        ports |= {_local_port(broken), _local_port(good)}
    assert broken.status_code == 400
    assert good.status_code == 200, good.text
    assert len(ports) == 1
    stored = latest_labels("churn", home / "predictions").to_pylist()
    assert [(s["request_id"], s["row"], s["label"]) for s in stored] == [(request_id, 0, "1")]


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(
    service: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = service
    # JSON Schema cannot say that the columns of a columnar body have one length, that a
    # CSV body is a table with the model's columns, nor which values the model itself
    # refuses: a body valid by the document may still be a 400 or 422 there
    config = (
        '[[operations]]\ninclude-path = "/predict"\n'
        'checks.positive_data_acceptance.expected-statuses = ["200", "400", "422"]\n'
    )
    run = schemathesis(url, tmp_path, examples=100, config=config)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
