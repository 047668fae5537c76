"""Access control on the REST server: every route in the OpenAPI schema refuses a request
without a valid token (401) and a viewer's write (403), and the audit log names the token."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI

from knot.errors import Invalid
from knot.governance.audit_query import AuditQuery, query
from knot.governance.tokens import ApiToken, create_token, revoke_token
from knot.server.app import create_app
from knot.server.auth import PUBLIC_PATHS, auth_from_env, require_role
from knot.store.database import Database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

READ_ONLY_POSTS = {("post", "/api/v1/runs/search")}


@dataclass
class Server:
    client: TestClient
    app: FastAPI
    db: Database
    secrets: dict[str, str]

    def as_(self, role: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.secrets[role]}"}


def _approvals() -> APIRouter:
    """A route the way the registry declares approvals: approver or above."""
    router = APIRouter()

    @router.post("/approvals-probe", tags=["test"])
    def approve(token: Annotated[ApiToken | None, Depends(require_role("approver"))]) -> dict:
        return {"approved_by": token.name if token else None}

    return router


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    db = Database(uri)
    secrets = {role: create_token(db, f"{role}-token", role)[1] for role in
               ("viewer", "editor", "approver", "admin")}  # fmt: skip
    app = create_app(uri, f"file://{tmp_path / 'artifacts'}", auth=True)
    app.include_router(_approvals(), prefix="/api/v1")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Server(client, app, db, secrets)
    db.close()


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    spec = app.openapi()
    found = [
        (method, path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path not in PUBLIC_PATHS
    ]
    assert len(found) >= 14, found  # tracking, batch, lineage, audit and the probe at least
    return found


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "some-id", path)


def _is_knot_error(body: dict, kind: str) -> bool:
    return set(body) == {"error", "message", "field"} and body["error"] == kind


def test_every_route_refuses_a_request_without_a_valid_token(server: Server) -> None:
    bad = {"authorization": "Bearer knot_0123456789ab_" + "x" * 43}
    for method, path in _operations(server.app):
        for headers, hint in (
            ({}, "knot tokens create"),
            ({"authorization": "Basic dXNlcjpwYXNz"}, "Bearer <token>"),
            (bad, "not valid on this server"),
        ):
            response = server.client.request(method, _url(path), headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")
            if method == "head":  # a HEAD answer has no body to explain itself in
                continue
            body = response.json()
            assert _is_knot_error(body, "unauthorized") and hint in body["message"], body
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_write_refuses_a_viewer_and_every_read_lets_one_in(server: Server) -> None:
    for method, path in _operations(server.app):
        response = server.client.request(method, _url(path), headers=server.as_("viewer"))
        if method in ("get", "head") or (method, path) in READ_ONLY_POSTS:
            assert response.status_code not in (401, 403), (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path)
            body = response.json()
            assert _is_knot_error(body, "forbidden"), body
            assert "'viewer-token' has role 'viewer'" in body["message"]
            assert "knot tokens create NAME --role" in body["message"]


def test_health_and_docs_need_no_token(server: Server) -> None:
    assert server.client.get("/health").status_code == 200
    spec = server.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["knotToken"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/runs"]["post"]["security"] == [{"knotToken": []}]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_the_audit_log_names_the_token_of_each_request(server: Server) -> None:
    created = server.client.post(
        "/api/v1/experiments", json={"name": "audited"}, headers=server.as_("editor")
    )
    assert created.status_code == 201, created.text
    experiment_id = created.json()["experiment_id"]
    run = server.client.post(
        "/api/v1/runs",
        json={"experiment_id": experiment_id, "user": "claimed-user"},
        headers=server.as_("admin"),
    ).json()
    ended = server.client.post(  # the batch route is async and hands off to the thread pool
        "/api/v1/batch",
        json={"ends": {"run_id": run["run_id"], "status": ["FINISHED"], "end_time": [1]}},
        headers=server.as_("approver"),
    )
    assert ended.status_code == 200, ended.text
    with server.db.read() as conn:
        rows = query(conn, AuditQuery())
    by_entity = [(r.action, r.entity_kind, r.actor) for r in rows if r.entity_kind != "api_token"]
    assert by_entity == [
        ("create", "experiment", "editor-token"),
        ("create", "run", "admin-token"),
        ("set_status", "run", "approver-token"),
    ]
    log = server.client.get("/api/v1/audit", params={"actor": "editor-token"},
                            headers=server.as_("viewer"))  # fmt: skip
    assert [r["entity_id"] for r in log.json()] == [experiment_id]


def test_approvals_need_an_approver(server: Server) -> None:
    for role in ("viewer", "editor"):
        refused = server.client.post("/api/v1/approvals-probe", headers=server.as_(role))
        assert refused.status_code == 403, role
        assert "needs one of: approver, admin" in refused.json()["message"]
    for role in ("approver", "admin"):
        allowed = server.client.post("/api/v1/approvals-probe", headers=server.as_(role))
        assert allowed.json() == {"approved_by": f"{role}-token"}


def test_a_revoked_token_is_refused_from_the_next_request(server: Server) -> None:
    assert server.client.get("/api/v1/experiments", headers=server.as_("viewer")).status_code == 200
    revoke_token(server.db, "viewer-token")
    refused = server.client.get("/api/v1/experiments", headers=server.as_("viewer"))
    assert refused.status_code == 401 and "was revoked" in refused.json()["message"]


def test_with_auth_off_routes_and_role_checks_are_open(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'open.db'}", auth=False)
    app.include_router(_approvals(), prefix="/api/v1")
    with TestClient(app) as client:
        assert client.get("/api/v1/experiments").status_code == 200
        assert client.post("/api/v1/approvals-probe").json() == {"approved_by": None}


@pytest.mark.parametrize(("value", "on"), [("", False), ("0", False), ("off", False),
                                           ("1", True), ("true", True), ("YES", True)])  # fmt: skip
def test_knot_auth_switch(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("KNOT_AUTH", value)
    assert auth_from_env() is on


def test_a_bad_knot_auth_value_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOT_AUTH", "maybe")
    with pytest.raises(Invalid, match="set it to 1 or 0"):
        auth_from_env()


def test_the_client_rebuilds_401_and_403_as_their_own_types() -> None:
    import httpx

    from knot.client._http import error_from
    from knot.governance.roles import Forbidden, Unauthorized

    for status, kind, cls in ((401, "unauthorized", Unauthorized), (403, "forbidden", Forbidden)):
        body = {"error": kind, "message": "say what to do", "field": "authorization"}
        error = error_from(httpx.Response(status, json=body), "http://x", "POST", "/p")
        assert type(error) is cls and error.field == "authorization"
