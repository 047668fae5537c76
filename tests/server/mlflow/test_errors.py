"""Bad input to the MLflow routes: MLflow's error codes and HTTP statuses in MLflow's
shape, naming what was wrong, never a 500, and nothing written."""

from __future__ import annotations

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from knot.tracking.sql_store import SqlTrackingStore

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.server
API = "/api/2.0/mlflow"


def test_client_sees_mlflow_error_codes(mlflow_url: str) -> None:
    client = MlflowClient()
    with pytest.raises(MlflowException) as missing:
        client.get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.create_experiment("twice")
    with pytest.raises(MlflowException) as taken:
        client.create_experiment("twice")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    run = client.create_run(client.get_experiment_by_name("twice").experiment_id)
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_param(run.info.run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(MlflowException, match="immutable") as changed:
        client.log_param(run.info.run_id, "lr", "0.2")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as no_model:
        client.get_registered_model("nope")
    assert no_model.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "named"),
    [
        ("GET", "/experiments/get", None, 400, "INVALID_PARAMETER_VALUE", "experiment_id"),
        (
            "POST",
            "/experiments/create",
            {"name": 7},
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid value 7",
        ),
        ("POST", "/experiments/create", {"name": ["a"]}, 400, "INVALID_PARAMETER_VALUE", "name"),
        ("POST", "/runs/create", b"{not json", 400, "INVALID_PARAMETER_VALUE", "JSON"),
        ("POST", "/runs/create", b"[1, 2]", 400, "INVALID_PARAMETER_VALUE", "object"),
        (
            "POST",
            "/runs/log-metric",
            {"run_id": "x", "key": "a", "value": "high", "timestamp": 1},
            400,
            "INVALID_PARAMETER_VALUE",
            "number",
        ),
        (
            "POST",
            "/runs/log-metric",
            {"run_id": "x", "key": "a", "value": 1, "timestamp": 1, "step": 1.5},
            400,
            "INVALID_PARAMETER_VALUE",
            "step",
        ),
        (
            "POST",
            "/runs/log-metric",
            {"run_id": "x", "key": "a", "value": 1, "timestamp": 1, "step": 2**70},
            400,
            "INVALID_PARAMETER_VALUE",
            "64-bit",
        ),
        (
            "POST",
            "/runs/log-batch",
            {"run_id": "x", "metrics": "many"},
            400,
            "INVALID_PARAMETER_VALUE",
            "metrics",
        ),
        (
            "POST",
            "/runs/log-batch",
            {"run_id": "x", "params": [{"key": "k"}] * 101},
            400,
            "INVALID_PARAMETER_VALUE",
            "at most 100",
        ),
        ("GET", "/runs/get?run_id=nope", None, 404, "RESOURCE_DOES_NOT_EXIST", "nope"),
        (
            "POST",
            "/runs/update",
            {"run_id": "nope", "status": "DONE"},
            400,
            "INVALID_PARAMETER_VALUE",
            "DONE",
        ),
        (
            "POST",
            "/runs/search",
            {"run_view_type": "SOME"},
            400,
            "INVALID_PARAMETER_VALUE",
            "run_view_type",
        ),
        ("POST", "/runs/search", {"max_results": 0}, 400, "INVALID_PARAMETER_VALUE", "max_results"),
        (
            "POST",
            "/experiments/search",
            {"filter": "creation_time > 5"},
            400,
            "INVALID_PARAMETER_VALUE",
            "name",
        ),
        (
            "GET",
            "/model-versions/get?name=m&version=one",
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            "one",
        ),
        (
            "POST",
            "/model-versions/create",
            {"name": "m", "source": "s3://bucket/x"},
            400,
            "INVALID_PARAMETER_VALUE",
            "s3://bucket/x",
        ),
        ("GET", "/logged-models/m-nope", None, 404, "RESOURCE_DOES_NOT_EXIST", "m-nope"),
        ("POST", "/no/such/route", {}, 404, "ENDPOINT_NOT_FOUND", "/no/such/route"),
        (
            "GET",
            "-artifacts/artifacts/1/2/artifacts/../../etc/passwd",
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "not under a run",
        ),
        (
            "GET",
            "-artifacts/artifacts/1/2/artifacts/..%2F..%2Fetc",
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "run '2' not found",
        ),
        ("GET", "-artifacts/artifacts?path=x/y/z/w", None, 404, "RESOURCE_DOES_NOT_EXIST", "y"),
    ],
)
def test_bad_requests_answer_in_mlflow_shape(
    mlflow_url: str,
    knot_tracking: SqlTrackingStore,
    method: str,
    path: str,
    body: object,
    status: int,
    code: str,
    named: str,
) -> None:
    content = body if isinstance(body, bytes) else None
    payload = None if isinstance(body, bytes) or body is None else body
    answer = httpx.request(
        method, f"{mlflow_url}{API}{path}", json=payload, content=content, timeout=30
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["error_code"] == code
    assert named in answer.json()["message"]
    assert knot_tracking.search_runs().runs == []


def test_unsupported_calls_say_what_to_do(mlflow_url: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("keep")
    with pytest.raises(MlflowException, match="keeps experiments") as deleting:
        client.delete_experiment(experiment_id)
    assert deleting.value.error_code == "NOT_IMPLEMENTED"
    run = client.create_run(experiment_id)
    client.set_tag(run.info.run_id, "t", "v")
    with pytest.raises(MlflowException, match="set the tag to another value"):
        client.delete_tag(run.info.run_id, "t")
    assert client.get_run(run.info.run_id).data.tags["t"] == "v"


def test_artifact_paths_stay_inside_the_run(
    mlflow_url: str, knot_tracking: SqlTrackingStore
) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment("paths"))
    info = run.info
    root = f"{mlflow_url}/api/2.0/mlflow-artifacts/artifacts/{info.experiment_id}/{info.run_id}"
    root += "/artifacts"
    for hostile in ("..%2F..%2Fescape.txt", "a/..%2F..%2F..%2Fescape.txt", "a/%2E%2E/%2E%2E/x"):
        put = httpx.put(f"{root}/{hostile}", content=b"x", timeout=30)
        assert put.status_code == 400, put.text
        assert put.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        got = httpx.get(f"{root}/{hostile}", timeout=30)
        assert got.status_code in (400, 404) and "error_code" in got.json()
    assert knot_tracking.list_artifacts(run.info.run_id) == []
    missing = httpx.get(f"{root}/never-logged.txt", timeout=30)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
