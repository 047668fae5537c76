"""MLflow's exact paths are answered by the route put first in the app (one dict lookup),
with the same endpoints and errors as through FastAPI's routing; anything else falls
through. Roles on these routes are tested with MLflow's client in
tests/server/mlflow/test_auth.py."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from starlette.routing import Match

from knot.tracking.sql_store import SqlTrackingStore
from tests.server.conftest import TestClient

LOG_METRIC = "/api/2.0/mlflow/runs/log-metric"


def _scope(method: str, path: str, **more: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", **more}


def test_exact_mlflow_paths_are_claimed_first(app: FastAPI) -> None:
    first = app.router.routes[0]
    assert first.matches(_scope("POST", LOG_METRIC))[0] is Match.FULL
    assert first.matches(_scope("GET", "/api/2.0/mlflow/runs/get"))[0] is Match.FULL
    # another method, a path with parameters, Knot's own API, a mounted app: not claimed
    assert first.matches(_scope("GET", LOG_METRIC))[0] is Match.NONE
    artifact = "/api/2.0/mlflow-artifacts/artifacts/1/run/a.txt"
    assert first.matches(_scope("GET", artifact))[0] is Match.NONE
    assert first.matches(_scope("POST", "/api/v1/batch"))[0] is Match.NONE
    assert first.matches(_scope("POST", LOG_METRIC, root_path="/knot"))[0] is Match.NONE


def test_fast_path_logs_and_answers_errors_in_mlflow_shape(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    point = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1000, "step": 3}
    ok = client.post(LOG_METRIC, json=point)
    assert ok.status_code == 200 and ok.json() == {}
    assert [(p.step, p.value) for p in store.get_metric_history(run_id, "loss")] == [(3, 0.5)]

    missing = client.post(LOG_METRIC, json={**point, "run_id": "0" * 32})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = client.post(LOG_METRIC, json={**point, "value": "high"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "'value'" in bad.json()["message"]
    # the method the path does not serve goes on to the MLflow fallback
    wrong = client.get(LOG_METRIC)
    assert wrong.status_code == 404 and wrong.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert len(store.get_metric_history(run_id, "loss")) == 1


def test_other_app_wide_dependencies_turn_the_fast_path_off(app: FastAPI) -> None:
    def audit_hook() -> None:
        return None

    app.router.dependencies.append(Depends(audit_hook))
    assert app.router.routes[0].matches(_scope("POST", LOG_METRIC))[0] is Match.NONE


def test_batch_metrics_short_path_keeps_the_checks(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    url = "/api/2.0/mlflow/runs/log-batch"
    good = {"key": "auc", "value": 1, "timestamp": 5, "step": 0}  # an int value is a number
    linked = {**good, "value": 0.2, "model_id": "m-1"}  # MLflow's copy for a logged model
    for bad, named in [
        ({**good, "value": True}, "'value'"),
        ({**good, "timestamp": 2**63}, "'timestamp'"),
        ({**good, "step": 1.5}, "'step'"),
    ]:
        refused = client.post(url, json={"run_id": run_id, "metrics": [good, bad]})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert named in refused.json()["message"]
    assert store.get_metric_history(run_id, "auc") == []  # all or nothing

    ok = client.post(url, json={"run_id": run_id, "metrics": [good, linked]})
    assert ok.status_code == 200, ok.text
    points = store.get_metric_history(run_id, "auc")
    assert [(p.value, type(p.value)) for p in points] == [(1.0, float)]
