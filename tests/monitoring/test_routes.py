"""Hostile input on the live server's /api/v1/monitoring routes: bad names, thresholds,
windows, bodies and unknown ids get a 4xx Knot error naming the field and the value,
never a 500, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.backends import StoreBackend
from tests.monitoring.logs import HOUR

pytestmark = pytest.mark.server

T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR
CONDITION = {"metric": "accuracy", "op": "<", "threshold": 0.7, "window": "1h"}
RULE = {"model": "churn", **CONDITION}


@pytest.fixture
def api(remote_backend: StoreBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=remote_backend.uri + "/api/v1/monitoring") as client:
        assert client.put("/rules/kept", json=RULE).status_code == 200
        yield client


def _refused(response: httpx.Response, status: int, field: str, *said: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()
    assert error["field"] == field, error
    for text in said:
        assert text in error["message"], error
    return error


def _unchanged(api: httpx.Client) -> None:
    assert [r["name"] for r in api.get("/rules").json()] == ["kept"]
    assert api.get("/rules/kept").json()["threshold"] == 0.7
    assert api.get("/models/churn/settings").json()["window"] is None
    assert api.get("/models/churn/results", params={"all_segments": "true"}).json() == []


@pytest.mark.parametrize(
    ("changes", "field", "said"),
    [
        ({"threshold": "high"}, "threshold", "'high'"),
        ({"threshold": None}, "threshold", "None"),
        ({"op": "=="}, "op", "'=='"),
        ({"metric": "happiness"}, "metric", "'happiness'"),
        ({"window": "sometimes"}, "window", "'sometimes'"),
        ({"consecutive": 0}, "consecutive", "0"),
        ({"model": "no/slash"}, "model", "'no/slash'"),
        ({"webhook": "file:///etc/passwd"}, "webhook", "file:///etc/passwd"),
        ({"colour": "red"}, "colour", "'red'"),
        ({"name": "other"}, "name", "'other'"),
    ],
)
def test_a_bad_rule_is_refused_and_changes_nothing(
    api: httpx.Client, changes: dict[str, Any], field: str, said: str
) -> None:
    _refused(api.put("/rules/kept", json={**RULE, **changes}), 422, field, said)
    _unchanged(api)


def test_a_threshold_that_is_not_a_number_is_refused(api: httpx.Client) -> None:
    body = '{"model": "churn", "metric": "accuracy", "op": "<", "threshold": NaN}'
    headers = {"content-type": "application/json"}
    response = api.put("/rules/kept", content=body, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] in ("threshold", "body")
    _unchanged(api)


@pytest.mark.parametrize("name", ["bad name!", "-dash-first", "x" * 300])
def test_bad_rule_names_are_refused_on_every_route(api: httpx.Client, name: str) -> None:
    shown = repr(name)[:20]
    _refused(api.put(f"/rules/{name}", json=RULE), 422, "name", shown)
    _refused(api.get(f"/rules/{name}"), 422, "name", shown)
    _refused(api.delete(f"/rules/{name}"), 422, "name", shown)
    _unchanged(api)


def test_unknown_rules_and_events_are_404_naming_them(api: httpx.Client) -> None:
    _refused(api.get("/rules/ghost"), 404, "name", "'ghost' does not exist")
    _refused(api.delete("/rules/ghost"), 404, "name", "'ghost' does not exist")
    status = {"status": "sent 200"}
    _refused(api.put(f"/events/{'a' * 32}/webhook-status", json=status), 404, "event", "a" * 32)
    _refused(api.put("/events/nothex/webhook-status", json=status), 422, "event_id", "'nothex'")
    _refused(api.put(f"/events/{'a' * 32}/webhook-status", json={"status": ""}), 422, "status")
    _unchanged(api)


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ({"window": "often"}, "window", "'often'"),
        ({"reference": "churn@1"}, "reference", "'churn@1'"),
        ({"segment": 3}, "segment", "3"),
        ({"colour": "red"}, "colour", "'colour'"),
        ({"model": "other"}, "model", "'other'"),
        (
            {"rules": [{"name": "ok", **CONDITION}, {"name": "bad", **CONDITION, "op": "!"}]},
            "rules.1.op",
            "'!'",
        ),
        ({"rules": [{"name": "ok", **RULE}]}, "rules.0.model", "'churn'"),
        ({"rules": [{"name": "kept", **CONDITION}] * 2}, "rules", "twice"),
        ({"rules": {"a": 1}}, "rules", "list"),
    ],
)
def test_a_bad_config_stores_nothing(
    api: httpx.Client, body: dict[str, Any], field: str, said: str
) -> None:
    _refused(api.put("/models/churn/config", json=body), 422, field, said)
    _unchanged(api)


def test_a_body_that_is_not_an_object_is_refused(api: httpx.Client) -> None:
    _refused(api.put("/models/churn/config", json=["window", "1h"]), 422, "body")
    _refused(api.put("/rules/kept", json="accuracy < 0.7"), 422, "body")
    bad_json = api.put(
        "/rules/kept", content=b"{not json", headers={"content-type": "application/json"}
    )
    _refused(bad_json, 400, "body", "not valid JSON")
    _unchanged(api)


def _point(**changes: Any) -> dict[str, Any]:
    point = {
        "model": "churn",
        "version": 1,
        "window": "1h",
        "window_start": T0,
        "window_end": T0 + HOUR,
        "metric": "accuracy",
        "value": 0.9,
    }
    return {**point, **changes}


@pytest.mark.parametrize(
    ("changes", "field", "said"),
    [
        ({"window": "soon"}, "points.1.window", "'soon'"),
        ({"model": "a b"}, "points.1.model", "'a b'"),
        ({"version": 0}, "points.1.version", "(got 0)"),
        ({"metric": ""}, "points.1.metric", "''"),
        ({"window_end": T0}, "window_end", str(T0)),
        ({"value": "lots"}, "points.1.value", "lots"),
        ({"window_start": 2**63}, "points.1.window_start", str(2**63)),
        ({"colour": "red"}, "points.1.colour", "'red'"),
    ],
)
def test_bad_results_store_none_of_the_batch(
    api: httpx.Client, changes: dict[str, Any], field: str, said: str
) -> None:
    body = {"points": [_point(), _point(**changes)]}
    error = _refused(api.post("/results", json=body), 422, field, said)
    assert "result 1" in error["message"] or field.startswith("points.")
    _unchanged(api)


def test_bad_names_and_filters_on_reads(api: httpx.Client) -> None:
    _refused(api.get("/models/a b/results"), 422, "model", "'a b'")
    _refused(api.get("/models/churn/results", params={"window": "x"}), 422, "window", "'x'")
    _refused(api.get("/models/churn/events", params={"state": "angry"}), 422, "state", "'angry'")
    _refused(api.get("/models/churn/versions/0/training-reference"), 422, "version")
    _refused(api.post("/models/a b/evaluate"), 422, "model", "'a b'")
    _unchanged(api)
