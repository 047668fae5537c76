"""Roles over the REST API of a real `knot server` with KNOT_AUTH=1: an editor cannot
weaken or remove a guarded policy, move a guarded alias, or send live traffic to a
version that has not passed the policy; an approver or admin can; every refusal leaves
the store as it was. With tokens, the token's name is who requested and who approves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from knot.governance import audit
from knot.governance.identity import acting_as
from knot.governance.tokens import create_token
from knot.registry.entities import MetricThreshold, PromotionPolicy
from knot.registry.sql_store import SqlRegistryStore
from knot.store.database import Database
from knot.tracking.sql_store import SqlTrackingStore
from tests.registry.conftest import Backend
from tests.registry.test_guards import snapshot
from tests.server.live import start_server

pytestmark = pytest.mark.server

POLICY = PromotionPolicy(
    thresholds=[MetricThreshold(metric="val_auc", value=0.8)], approver_role="approver"
)
ROLES = ("editor", "approver", "admin")


@dataclass
class Secured:
    db: Database
    clients: dict[str, httpx.Client]  # by token name; "approver2" is a second approver

    def call(self, who: str, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.clients[who].request(method, "/api/v1" + path, json=body)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """One server with auth for the module; models `a`, `b`, `c`, each with v1 (val_auc
    0.9) the champion by an approved promotion, v2 (0.95) and v3 (0.5) never promoted."""
    root = tmp_path_factory.mktemp("guarded")
    uri = f"sqlite:///{root / 'knot.db'}"
    tracking = SqlTrackingStore(uri)
    registry = SqlRegistryStore(uri, tracking.db)
    backend = Backend("sqlite", registry, tracking, tracking.db, uri)
    for name in ("a", "b", "c"):
        for auc in (0.9, 0.95, 0.5):
            registry.create_version(name, backend.model_run({"val_auc": auc}))
        registry.set_policy(name, POLICY)
        with acting_as("ana"):
            pending = registry.promote(name, 1)
        with acting_as("bo"):
            registry.decide(pending.request_id, True, roles={"approver"})
        registry.set_alias(name, "challenger", 3)
    tokens = {r: r for r in ROLES} | {"approver2": "approver"}  # token name -> role
    secrets = {n: create_token(tracking.db, n, r)[1] for n, r in tokens.items()}
    registry.close()
    tracking.close()
    server = start_server(uri, f"file://{root / 'artifacts'}", env={"KNOT_AUTH": "1"})
    db = Database(uri)
    clients = {
        name: httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {secret}"})
        for name, secret in secrets.items()
    }
    try:
        yield Secured(db, clients)
    finally:
        for client in clients.values():
            client.close()
        server.stop()
        with db.read() as conn:
            assert audit.verify(conn) == []
        db.close()


def refused(
    secured: Secured, status: int, who: str, method: str, path: str, body: Any = None
) -> str:
    """Send a request that must be refused with `status`; returns the message, after
    checking that nothing in the store changed."""
    before = snapshot(secured.db)
    response = secured.call(who, method, path, body)
    assert response.status_code == status, response.text
    assert snapshot(secured.db) == before
    message: str = response.json()["message"]
    return message


def test_an_editor_cannot_weaken_or_remove_a_guarded_policy(secured: Secured) -> None:
    weaker = POLICY.model_copy(update={"thresholds": []}).model_dump(mode="json")
    for method, body in (("PUT", weaker), ("DELETE", None)):
        message = refused(secured, 403, "editor", method, "/models/a/policy", body)
        assert "promotion policy of 'a' needs the role 'approver'" in message
        assert "the caller has the role 'editor'" in message
    # the policy holds, so the alias it guards stays out of reach
    assert "nobody can set it directly" in refused(
        secured, 409, "editor", "PUT", "/models/a/aliases/champion", {"version": 3}
    )
    assert "nobody can delete it directly" in refused(
        secured, 409, "editor", "DELETE", "/models/a/aliases/champion"
    )
    assert secured.call("editor", "GET", "/models/a").json()["aliases"]["champion"] == 1
    # an approver may change it; the admin too, and removing it frees the alias
    assert secured.call("approver", "PUT", "/models/a/policy", weaker).status_code == 200
    assert secured.call("admin", "DELETE", "/models/a/policy").status_code == 204
    moved = secured.call("editor", "PUT", "/models/a/aliases/champion", {"version": 3})
    assert moved.status_code == 200, moved.text


def test_a_policy_naming_admin_needs_an_admin_to_change(secured: Secured) -> None:
    strict = POLICY.model_copy(update={"approver_role": "admin"}).model_dump(mode="json")
    assert secured.call("approver", "PUT", "/models/b/policy", strict).status_code == 200
    message = refused(secured, 403, "approver", "DELETE", "/models/b/policy")
    assert "needs the role 'admin'" in message
    back = POLICY.model_dump(mode="json")
    assert secured.call("admin", "PUT", "/models/b/policy", back).status_code == 200


def test_an_editor_cannot_send_live_traffic_to_an_unpromoted_version(secured: Secured) -> None:
    for weight in (0.05, 1.0):
        message = refused(secured, 403, "editor", "PUT", "/models/c/traffic", {"weight": weight})
        assert "to version 3 (through alias 'challenger'), which has not passed" in message
    assert secured.call("editor", "GET", "/models/c/traffic").json() is None
    shadow = secured.call("editor", "PUT", "/models/c/traffic", {"weight": 1.0, "shadow": True})
    assert shadow.status_code == 200, shadow.text
    # a canary of the champion's version is fine; then its alias cannot be repointed
    assert secured.call("editor", "PUT", "/models/c/aliases/challenger", {"version": 1}).is_success
    assert secured.call("editor", "PUT", "/models/c/traffic", {"weight": 0.5}).is_success
    assert "pointing alias 'challenger' there" in refused(
        secured, 403, "editor", "PUT", "/models/c/aliases/challenger", {"version": 3}
    )
    to_challenger = {"version": 3, "alias": "challenger"}
    promoted = refused(secured, 403, "editor", "POST", "/models/c/promotions", to_challenger)
    assert "version 3" in promoted
    # an approver is no admin here: live traffic needs a passed version or an admin
    refused(secured, 403, "approver", "PUT", "/models/c/aliases/challenger", {"version": 3})
    admin = secured.call("admin", "PUT", "/models/c/aliases/challenger", {"version": 3})
    assert admin.status_code == 200, admin.text
    assert secured.call("admin", "PUT", "/models/c/traffic", {"weight": 1.0}).is_success
    traffic = secured.call("editor", "GET", "/models/c/traffic").json()
    assert (traffic["weight"], traffic["updated_by"]) == (1.0, "admin")


def test_with_tokens_the_token_is_who_requests_and_who_approves(secured: Secured) -> None:
    pending = secured.call("approver", "POST", "/models/c/promotions", {"version": 2})
    assert pending.status_code == 201, pending.text
    request_id = pending.json()["request_id"]
    assert pending.json()["requested_by"] == "approver"
    message = refused(secured, 403, "approver", "POST", f"/promotions/{request_id}/approve", {})
    assert "'approver' requested this promotion and cannot approve it" in message
    assert "has role 'editor'" in refused(
        secured, 403, "editor", "POST", f"/promotions/{request_id}/approve", {}
    )
    done = secured.call("approver2", "POST", f"/promotions/{request_id}/approve", {})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decided_by"]) == ("approved", "approver2")
    assert secured.call("editor", "GET", "/models/c").json()["aliases"]["champion"] == 2
