"""Numbers a client sends are numbers, within what the database holds: an artifact size
of 2**64, a start time past int64, a boolean where a number goes (or a number where a
boolean goes) is a 422 naming the field, never an OverflowError's 500, and nothing is
stored. The OpenAPI document states the same bounds, as exact integers, and every
operation's error answers."""

from __future__ import annotations

from typing import Any

import pytest

from knot.tracking.sql_store import SqlTrackingStore
from tests.server.conftest import TestClient

DIGEST = "sha256:" + "0" * 64


def _artifact(size: Any) -> dict[str, Any]:
    return {"path": "model.pkl", "digest": DIGEST, "size": size, "kind": "file"}


@pytest.mark.parametrize("size", [2**64, 2**63, -1, True, "5", 1.5, 1e30])
def test_an_artifact_size_outside_int64_or_not_a_number_is_422(
    client: TestClient, store: SqlTrackingStore, run_id: str, size: Any
) -> None:
    answer = client.post(f"/api/v1/runs/{run_id}/artifacts", json=_artifact(size))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "size"
    assert store.list_artifacts(run_id) == []


def test_the_largest_size_and_a_whole_float_are_taken(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    top = client.post(f"/api/v1/runs/{run_id}/artifacts", json=_artifact(2**63 - 1))
    whole = client.post(
        f"/api/v1/runs/{run_id}/artifacts", json={**_artifact(5.0), "path": "b.pkl"}
    )
    assert top.status_code == 201, top.text
    assert whole.json()["size"] == 5  # JSON's 5.0 is the integer 5
    assert sorted(a.size for a in store.list_artifacts(run_id)) == [5, 2**63 - 1]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/runs", {"user": "u", "start_time": 2**64}, "start_time"),
        ("/runs", {"user": "u", "start_time": True}, "start_time"),
        ("/runs", {"user": "u", "source": {"git_dirty": 0}}, "source.git_dirty"),
        ("/runs", {"user": "u", "run_id": ""}, "run_id"),
        ("/runs/search", {"max_results": 2**64}, "max_results"),
        ("/runs/search", {"max_results": True}, "max_results"),
        ("/batch", {"starts": [{"user": "u", "start_time": -(2**63) - 1}]}, "starts.0.start_time"),
    ],
)
def test_run_numbers_past_int64_or_of_the_wrong_kind_are_422(
    client: TestClient, store: SqlTrackingStore, route: str, body: dict[str, Any], field: str
) -> None:
    experiment = store.create_experiment("numbers").experiment_id
    if route == "/batch":
        body = {"starts": [{**body["starts"][0], "run_id": "a" * 32, "experiment_id": experiment}]}
    elif route == "/runs":
        body = {**body, "experiment_id": experiment}
    answer = client.post(f"/api/v1{route}", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert store.search_runs([experiment]).runs == []


@pytest.mark.parametrize(
    ("column", "values", "field"),
    [
        ("value", [True], "metrics.value.0"),
        ("value", ["1.5"], "metrics.value.0"),
        ("step", [2**63], "metrics.step.0"),
        ("step", [False], "metrics.step.0"),
        ("timestamp", [2**64], "metrics.timestamp.0"),
    ],
)
def test_metric_columns_take_numbers_only(
    client: TestClient, store: SqlTrackingStore, run_id: str, column: str, values: Any, field: str
) -> None:
    metrics = {"run_id": run_id, "key": ["loss"], "value": [0.5], "step": [0], "timestamp": [1]}
    answer = client.post("/api/v1/batch", json={"metrics": {**metrics, column: values}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert store.get_metric_history(run_id, "loss") == []


def test_non_finite_metric_values_still_travel_as_strings(
    client: TestClient, store: SqlTrackingStore, run_id: str
) -> None:
    metrics = {
        "run_id": run_id,
        "key": ["loss", "loss"],
        "value": ["NaN", "-Infinity"],
        "step": [0, 1],
        "timestamp": [1, 2],
    }
    answer = client.post("/api/v1/batch", json={"metrics": metrics})
    assert answer.status_code == 200, answer.text
    assert len(store.get_metric_history(run_id, "loss")) == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("put", "/models/m/aliases/champion", {"version": True}, "version"),
        ("put", "/models/m/aliases/champion", {"version": 2**64}, "version"),
        ("put", "/models/m/aliases/champion", {"version": 1.5}, "version"),
        ("post", "/models/m/promotions", {"version": 0}, "version"),
        ("put", "/models/m/traffic", {"weight": True}, "weight"),
        ("put", "/models/m/traffic", {"weight": 2}, "weight"),
        ("put", "/models/m/traffic", {"shadow": 1}, "shadow"),
        ("put", "/models/m/policy", {"allow_self_approval": 1}, "allow_self_approval"),
        (
            "put",
            "/models/m/policy",
            {"thresholds": [{"metric": "auc", "value": True}]},
            "thresholds.0.value",
        ),
    ],
)
def test_registry_numbers_and_flags_are_strict(
    client: TestClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    assert client.post("/api/v1/models", json={"name": "m"}).status_code == 201
    answer = getattr(client, method)(f"/api/v1{path}", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    model = client.get("/api/v1/models/m").json()
    assert model["aliases"] == {}
    assert client.get("/api/v1/models/m/policy").json() is None
    assert client.get("/api/v1/models/m/traffic").json() is None


def test_a_wrong_method_is_405_listing_every_method_of_the_path(client: TestClient) -> None:
    search = client.get("/api/v1/runs/search")
    experiments = client.delete("/api/v1/experiments")
    assert search.status_code == 405 and search.headers["allow"] == "POST"
    assert experiments.status_code == 405 and experiments.headers["allow"] == "GET, POST"
    assert experiments.json()["error"] == "invalid"


def test_the_document_lists_errors_and_exact_bounds(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    size = schemas["ArtifactRecord"]["properties"]["size"]
    assert size == {"type": "integer", "minimum": 0, "exclusiveMaximum": 2**63, "title": "Size"}
    assert isinstance(size["exclusiveMaximum"], int)  # not 9.223372036854776e18
    start = schemas["RunCreate"]["properties"]["start_time"]["anyOf"][0]
    assert (start["minimum"], start["exclusiveMaximum"]) == (-(2**63), 2**63)
    assert "HTTPValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error", "message", "field"]
    artifact = document["paths"]["/api/v1/runs/{run_id}/artifacts"]["post"]
    assert {"400", "404", "409", "422", "503"} <= set(artifact["responses"])
    run_id = next(p for p in artifact["parameters"] if p["name"] == "run_id")
    assert run_id["schema"]["pattern"] == "^[0-9a-f]{32}$"
    alias = document["paths"]["/api/v1/models/{name}/aliases/{alias}"]["put"]
    version = schemas["AliasSet"]["properties"]["version"]
    assert (version["minimum"], version["exclusiveMaximum"]) == (1, 2**31)
    assert {"404", "409", "422"} <= set(alias["responses"])
    weight = schemas["TrafficSet"]["properties"]["weight"]
    assert (weight["type"], weight["minimum"], weight["maximum"]) == ("number", 0, 1)
