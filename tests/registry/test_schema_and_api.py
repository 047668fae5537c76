"""Migration 0004 builds exactly the tables knot.registry.tables declares, and the REST
routes answer bad requests with Knot's error shape, naming the field."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.migrations import assert_migration_builds

from knot.registry import tables

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    assert_migration_builds(tables, tmp_path)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    from knot.server.app import create_app

    app = create_app(f"sqlite:///{tmp_path / 'knot.db'}", f"file://{tmp_path / 'a'}", auth=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("GET", "/api/v1/models/resolve?uri=churn", None, 422, "uri"),
        ("GET", "/api/v1/models/churn", None, 404, "name"),
        ("GET", "/api/v1/models/churn/versions/x", None, 422, "version"),
        ("PUT", "/api/v1/models/churn/aliases/prod", {"version": 1, "force": True}, 422, "force"),
        ("POST", "/api/v1/models/churn/versions", {"run_id": "r"}, 422, "artifact_path"),
        (
            "PUT",
            "/api/v1/models/churn/policy",
            {"thresholds": [{"metric": "a", "op": "=="}]},
            422,
            "thresholds.0.op",
        ),
        ("POST", "/api/v1/promotions/nope/approve", {}, 404, "request_id"),
        ("GET", "/api/v1/models/churn/promotions?status=done", None, 422, "status"),
    ],
)
def test_bad_requests_name_the_field(
    client: TestClient, method: str, path: str, body: object, status: int, field: str
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["field"] == field and payload["message"], payload
    assert payload["error"] == ("not_found" if status == 404 else "invalid")
