"""Migration 0004 builds exactly the tables knot.registry.tables declares, and the REST
routes answer bad requests with Knot's error shape, naming the field."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from knot.registry import tables
from knot.store.database import Database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REGISTRY_TABLES = [getattr(tables, name) for name in tables.__all__]


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'knot.db'}")
    found = inspect(db.engine)
    for table in REGISTRY_TABLES:
        columns = {c["name"]: c for c in found.get_columns(table.name)}
        assert list(columns) == [c.name for c in table.columns], table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
        primary = found.get_pk_constraint(table.name)["constrained_columns"]
        assert primary == [c.name for c in table.primary_key.columns], table.name
        indexes = {i["name"] for i in found.get_indexes(table.name)}
        assert indexes == {i.name for i in table.indexes}, table.name
    db.close()


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
