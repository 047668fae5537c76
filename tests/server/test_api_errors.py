"""Bad requests get a JSON error naming the field, and change nothing in the store."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from knot.tracking.sql_store import SqlTrackingStore
from tests.server.conftest import TestClient

BATCH = "/api/v1/batch"


def _metrics(run_id: Any, n: int = 2, **override: Any) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "run_id": run_id,
        "key": ["loss"] * n,
        "value": [0.5] * n,
        "step": list(range(n)),
        "timestamp": [1000] * n,
    }
    columns.update(override)
    return {"metrics": columns}


def _assert_untouched(store: SqlTrackingStore, run_id: str) -> None:
    run = store.get_run(run_id)
    assert run.metrics == {} and run.params == {} and run.tags == {}
    assert run.status == "RUNNING"
    assert store.get_metric_history(run_id, "loss") == []


def _error(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    "payload",
    [b'{"metrics": {"run_id": ', b"not json at all", b'{"metrics": {"key": [1,]}}'],
)
def test_malformed_json_batch_is_400_and_writes_nothing(
    client: TestClient, store: SqlTrackingStore, run_id: str, payload: bytes
) -> None:
    response = client.post(BATCH, content=payload, headers={"content-type": "application/json"})
    body = _error(response, 400, "body")
    assert body["error"] == "invalid" and "not valid JSON" in body["message"]
    _assert_untouched(store, run_id)


def test_malformed_json_on_a_model_route_is_400(
    client: TestClient, store: SqlTrackingStore
) -> None:
    response = client.post(
        "/api/v1/experiments", content=b'{"name": "x"', headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in _error(response, 400, "body")["message"]
    assert store.list_experiments() == []


def test_missing_field_names_it(client: TestClient, store: SqlTrackingStore, run_id: str) -> None:
    body = _metrics(run_id)
    del body["metrics"]["step"]
    error = _error(client.post(BATCH, json=body), 422, "metrics.step")
    assert "'metrics.step'" in error["message"] and "required" in error["message"].lower()
    _assert_untouched(store, run_id)

    experiment = store.list_experiments()[0].experiment_id
    error = _error(client.post("/api/v1/runs", json={"experiment_id": experiment}), 422, "user")
    assert "required" in error["message"].lower()
    assert len(store.search_runs().runs) == 1


def test_wrong_type_names_the_row(client: TestClient, store: SqlTrackingStore, run_id: str) -> None:
    body = _metrics(run_id, 3, value=[0.1, "abc", 0.3])
    error = _error(client.post(BATCH, json=body), 422, "metrics.value.1")
    assert "'abc'" in error["message"] and "number" in error["message"]
    _assert_untouched(store, run_id)

    body = {**_metrics(run_id), "ends": {"run_id": run_id, "status": ["DONE"], "end_time": [5]}}
    error = _error(client.post(BATCH, json=body), 422, "ends.status.0")
    assert "FINISHED" in error["message"]
    _assert_untouched(store, run_id)

    body = _metrics(run_id, 1, step=[2**63])
    _error(client.post(BATCH, json=body), 422, "metrics.step.0")
    _error(client.post(BATCH, json=_metrics(7, 1)), 422, "metrics.run_id")
    _assert_untouched(store, run_id)


def test_columns_of_different_lengths_are_refused(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    body = _metrics(run_id, 3, value=[1.0, 2.0])
    error = _error(client.post(BATCH, json=body), 422, "metrics")
    assert "value has 2" in error["message"] and "key has 3" in error["message"]
    _assert_untouched(store, run_id)


def test_unknown_fields_are_refused_not_ignored(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    body = {**_metrics(run_id), "metircs": {}}
    _error(client.post(BATCH, json=body), 422, "metircs")
    _assert_untouched(store, run_id)


def test_unknown_run_is_404_and_the_known_run_gets_nothing(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    ghost = uuid.uuid4().hex
    body = _metrics([run_id, ghost])
    body["params"] = {"run_id": run_id, "key": ["lr"], "value": ["0.1"]}
    error = _error(client.post(BATCH, json=body), 404, "run_id")
    assert error["error"] == "not_found" and ghost in error["message"]
    _assert_untouched(store, run_id)
    for path in (f"/api/v1/runs/{ghost}", f"/api/v1/runs/{ghost}/artifacts"):
        assert _error(client.get(path), 404, "run_id")["error"] == "not_found"
    response = client.post(f"/api/v1/runs/{ghost}/status", json={"status": "FINISHED"})
    _error(response, 404, "run_id")


def test_param_conflict_is_409_and_the_batch_is_rolled_back(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    first = {"params": {"run_id": run_id, "key": ["lr"], "value": ["0.1"]}}
    assert client.post(BATCH, json=first).json() == {"written": 1}
    body = _metrics(run_id)
    body["params"] = {"run_id": run_id, "key": ["lr", "depth"], "value": ["0.2", "3"]}
    body["tags"] = {"run_id": run_id, "key": ["team"], "value": ["ml"]}
    error = _error(client.post(BATCH, json=body), 409, "params")
    assert error["error"] == "conflict" and "immutable" in error["message"]
    run = store.get_run(run_id)
    assert run.params == {"lr": "0.1"} and run.metrics == {} and run.tags == {}


def test_bad_keys_and_values_name_their_section(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    body = _metrics(run_id, 2, key=["loss", "bad\nkey"])
    assert "characters" in _error(client.post(BATCH, json=body), 422, "metrics.key")["message"]
    body = {"tags": {"run_id": run_id, "key": ["note"], "value": ["x" * 9000]}}
    assert "limit" in _error(client.post(BATCH, json=body), 422, "tags.value.0")["message"]
    _assert_untouched(store, run_id)


def test_bad_filter_names_the_filter(client: TestClient, run_id: str) -> None:
    body = {"filter": "metrics.auc > 'high'"}
    error = _error(client.post("/api/v1/runs/search", json=body), 422, "filter")
    assert "metrics.auc > 'high'" in error["message"] and error["error"] == "invalid"
    body = {"max_results": "many"}
    _error(client.post("/api/v1/runs/search", json=body), 422, "max_results")


def test_duplicate_experiment_is_409(client: TestClient, store: SqlTrackingStore) -> None:
    assert client.post("/api/v1/experiments", json={"name": "churn"}).status_code == 201
    error = _error(client.post("/api/v1/experiments", json={"name": "churn"}), 409, "name")
    assert "already exists" in error["message"]
    assert [e.name for e in store.list_experiments()] == ["churn"]


def test_unknown_route_and_method_answer_json(client: TestClient) -> None:
    error = client.get("/api/v1/nothing-here").json()
    assert error["error"] == "not_found" and "/docs" in error["message"]
    response = client.delete("/api/v1/experiments")
    assert response.status_code == 405 and response.json()["error"] == "invalid"


def test_an_internal_error_is_a_500_without_a_traceback(
    client: TestClient, store: SqlTrackingStore, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "list_experiments", broken)
    with caplog.at_level("ERROR", logger="knot.server"):
        response = client.get("/api/v1/experiments")
    assert response.status_code == 500
    body = orjson.loads(response.content)
    assert body["error"] == "error" and "server log" in body["message"]
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text  # the traceback is in the server's log
