"""Who may approve: the approver role (or admin), never the requester unless the policy
allows it; locally through `roles`, on a server with auth on through the token's role."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backends import SQL
from tests.registry.conftest import Backend

from knot.errors import KnotError
from knot.governance.identity import acting_as
from knot.governance.roles import Forbidden
from knot.governance.tokens import create_token
from knot.registry.entities import MetricThreshold, PromotionPolicy, RequestStatus
from knot.registry.roles import require_role
from knot.store.database import Database
from knot.tracking.sql_store import SqlTrackingStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

POLICY = PromotionPolicy(
    thresholds=[MetricThreshold(metric="val_auc", value=0.8)], approver_role="approver"
)
# over REST the roles come from the caller's token, not from `roles=`: the remote case is
# test_with_auth_on_the_tokens_role_decides
LOCAL = pytest.mark.parametrize("store_backend", SQL, indirect=True)


def test_require_role() -> None:
    require_role(None, {"viewer"}, "anything")
    require_role("approver", None, "a local call")
    require_role("approver", {"approver"}, "approving")
    require_role("approver", {"viewer", "admin"}, "approving")
    with pytest.raises(Forbidden, match=r"approving needs the role 'approver'.*has: editor"):
        require_role("approver", {"editor"}, "approving")


@LOCAL
def test_the_requester_cannot_approve_their_own_promotion(
    backend: Backend, model_name: str
) -> None:
    backend.registry.create_version(model_name, backend.model_run({"val_auc": 0.9}))
    backend.registry.set_policy(model_name, POLICY)
    with acting_as("ana"):
        pending = backend.registry.promote(model_name, 1)
        with pytest.raises(Forbidden, match="'ana' requested this promotion"):
            backend.registry.decide(pending.request_id, True, roles={"admin"})
    assert backend.registry.get_model(model_name).aliases == {}
    with acting_as("bo"):
        done = backend.registry.decide(pending.request_id, True, roles={"approver"})
    assert (done.status, done.requested_by, done.decided_by) == (
        RequestStatus.APPROVED,
        "ana",
        "bo",
    )
    assert backend.registry.get_model(model_name).aliases == {"champion": 1}


@LOCAL
def test_a_role_below_the_policys_cannot_decide(backend: Backend, model_name: str) -> None:
    backend.registry.create_version(model_name, backend.model_run({"val_auc": 0.9}))
    backend.registry.set_policy(model_name, POLICY.model_copy(update={"approver_role": "admin"}))
    with acting_as("ana"):
        pending = backend.registry.promote(model_name, 1)
    with acting_as("bo"):
        for roles in ({"editor"}, {"approver"}):
            with pytest.raises(Forbidden, match="needs the role 'admin'"):
                backend.registry.decide(pending.request_id, False, "no", roles=roles)
        assert backend.registry.list_requests(model_name)[0].status is RequestStatus.PENDING
        rejected = backend.registry.decide(pending.request_id, False, "not yet", roles={"admin"})
    assert rejected.status is RequestStatus.REJECTED


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[SqlTrackingStore, dict[str, TestClient]]]:
    """A server with auth on, and one in-process client per role (token name = role)."""
    from knot.server.app import create_app

    uri = f"sqlite:///{tmp_path / 'knot.db'}"
    tracking = SqlTrackingStore(uri)
    db = Database(uri)
    secrets = {r: create_token(db, r, r)[1] for r in ("viewer", "editor", "approver", "admin")}
    app = create_app(uri, f"file://{tmp_path / 'artifacts'}", auth=True)
    with TestClient(app, raise_server_exceptions=False) as base:
        clients = {}
        for role, secret in secrets.items():
            client = TestClient(app, raise_server_exceptions=False)
            client.headers["authorization"] = f"Bearer {secret}"
            clients[role] = client
        assert base.get("/api/v1/models").status_code == 401
        yield tracking, clients
    tracking.close()
    db.close()


def test_with_auth_on_the_tokens_role_decides(
    secured: tuple[SqlTrackingStore, dict[str, TestClient]],
) -> None:
    from knot.client.rest_registry import RestRegistryStore

    tracking, clients = secured
    stores = {role: RestRegistryStore("http://testserver", client=c) for role, c in clients.items()}
    backend = Backend("secured", stores["editor"], tracking, tracking.db, tracking.uri)
    source = backend.model_run({"val_auc": 0.95})
    stores["editor"].create_version("churn", source)
    with pytest.raises(KnotError, match="has role 'viewer'"):
        stores["viewer"].create_version("churn", source)
    stores["admin"].set_policy("churn", POLICY)
    pending = stores["editor"].promote("churn", 1)
    assert pending.status is RequestStatus.PENDING and pending.requested_by == "editor"
    with pytest.raises(KnotError, match="has role 'editor'"):
        stores["editor"].decide(pending.request_id, True)
    approved = stores["approver"].decide(pending.request_id, True, "ok")
    assert approved.decided_by == "approver"
    assert stores["viewer"].resolve("models:/churn@champion").version == 1
