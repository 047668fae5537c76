"""The REST API in-process: health, OpenAPI, the batch wire format, NaN and infinities."""

from __future__ import annotations

import math
from pathlib import Path

import orjson

from knot.server.app import create_app
from knot.server.run import redact
from knot.tracking.sql_store import SqlTrackingStore
from tests.server.conftest import TestClient


def test_health_is_ok_once_the_store_is_open(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_health_is_503_while_the_store_cannot_open(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    app = create_app(f"sqlite:///{blocker / 'knot.db'}")  # its folder is a file
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and str(blocker) in body["message"]
        error = test_client.get("/api/v1/experiments")
        assert error.status_code == 503 and error.json()["error"] == "unavailable"


def test_the_store_opens_lazily_from_a_uri(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'lazy.db'}")
    client = TestClient(app)  # not entered: no lifespan, the first request opens it
    assert client.post("/api/v1/experiments", json={"name": "e"}).status_code == 201
    assert client.get("/health").json() == {"status": "ok"}


def test_openapi_lists_every_route_and_the_batch_schema(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/experiments",
        "/api/v1/experiments/by-name",
        "/api/v1/experiments/{experiment_id}",
        "/api/v1/runs",
        "/api/v1/runs/search",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/status",
        "/api/v1/runs/{run_id}/metrics/history",
        "/api/v1/runs/{run_id}/artifacts",
        "/api/v1/batch",
        "/health",
    ):
        assert path in paths, path
    schemas = spec["components"]["schemas"]
    ref = paths["/api/v1/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/Batch"}
    assert {"MetricColumns", "KeyValueColumns", "EndColumns"} <= set(schemas)
    batch_fields = {"starts", "metrics", "params", "tags", "ends", "writer_id", "seq"}
    assert set(schemas["Batch"]["properties"]) == batch_fields


def test_nan_and_infinities_survive_the_round_trip(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    body = {
        "metrics": {
            "run_id": run_id,
            "key": ["loss", "loss", "loss", "loss"],
            "value": [1.5, "NaN", "Infinity", "-Infinity"],
            "step": [0, 1, 2, 3],
            "timestamp": [10, 11, 12, 13],
        }
    }
    response = client.post("/api/v1/batch", content=orjson.dumps(body))
    assert response.json() == {"written": 4}
    stored = [p.value for p in store.get_metric_history(run_id, "loss")]
    assert stored[0] == 1.5 and math.isnan(stored[1]) and stored[2:] == [math.inf, -math.inf]

    history = client.get(f"/api/v1/runs/{run_id}/metrics/history", params={"key": "loss"})
    # the JSON strings, never null (which would lose which non-finite value it was)
    assert [p["value"] for p in orjson.loads(history.content)] == [
        1.5,
        "NaN",
        "Infinity",
        "-Infinity",
    ]
    summary = client.get(f"/api/v1/runs/{run_id}").json()["metrics"]["loss"]
    assert summary["latest"] == "-Infinity" and summary["count"] == 4


def test_batch_columns_per_row_and_ends(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    other = store.create_run(store.list_experiments()[0].experiment_id, user="t").run_id
    body = {
        "metrics": {
            "run_id": [run_id, other],
            "key": ["acc", "acc"],
            "value": [0.9, 0.8],
            "step": [1, 1],
            "timestamp": [5, 5],
        },
        "params": {"run_id": [run_id, other], "key": ["lr", "lr"], "value": ["0.1", "0.2"]},
        "tags": {"run_id": run_id, "key": ["team"], "value": ["ml"]},
        "ends": {"run_id": run_id, "status": ["FINISHED"], "end_time": [99]},
    }
    assert client.post("/api/v1/batch", json=body).json() == {"written": 6}
    mine, theirs = store.get_run(run_id), store.get_run(other)
    assert mine.metrics["acc"].latest == 0.9 and theirs.metrics["acc"].latest == 0.8
    assert mine.params == {"lr": "0.1"} and theirs.params == {"lr": "0.2"}
    assert mine.tags == {"team": "ml"} and theirs.tags == {}
    assert (mine.status, mine.end_time, theirs.status) == ("FINISHED", 99, "RUNNING")
    assert client.post("/api/v1/batch", json={}).json() == {"written": 0}


def test_experiment_and_run_routes(client: TestClient) -> None:
    created = client.post("/api/v1/experiments", json={"name": "churn", "description": "d"})
    assert created.status_code == 201
    experiment = created.json()
    by_name = client.get("/api/v1/experiments/by-name", params={"name": "churn"})
    assert by_name.json() == experiment
    assert client.get(f"/api/v1/experiments/{experiment['experiment_id']}").json() == experiment
    assert client.get("/api/v1/experiments").json() == [experiment]
    missing = client.get("/api/v1/experiments/by-name", params={"name": "nope"})
    assert missing.status_code == 404 and missing.json()["field"] == "name"

    run = client.post(
        "/api/v1/runs",
        json={"experiment_id": experiment["experiment_id"], "user": "ana", "tags": {"a": "b"}},
    )
    assert run.status_code == 201 and run.json()["tags"] == {"a": "b"}
    run_id = run.json()["run_id"]
    ended = client.post(f"/api/v1/runs/{run_id}/status", json={"status": "KILLED"})
    assert ended.json()["status"] == "KILLED" and ended.json()["end_time"] is not None
    record = {"path": "model.pkl", "digest": "sha256:" + "a" * 64, "size": 3, "kind": "file"}
    assert client.post(f"/api/v1/runs/{run_id}/artifacts", json=record).status_code == 201
    assert client.get(f"/api/v1/runs/{run_id}/artifacts").json() == [record]
    page = client.post("/api/v1/runs/search", json={"filter": "status = 'KILLED'"}).json()
    assert [r["run_id"] for r in page["runs"]] == [run_id] and page["next_page_token"] is None


def test_the_startup_line_never_shows_a_password() -> None:
    assert redact("postgresql://ana:s3cret@db:5432/knot") == "postgresql://ana:***@db:5432/knot"
    assert redact("sqlite:////tmp/knot.db") == "sqlite:////tmp/knot.db"
