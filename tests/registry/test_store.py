"""The RegistryStore conformance suite: every test runs on SQLite, PostgreSQL and the REST
client against a real server, and checks what was written underneath (audit, lineage)."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest
from sqlalchemy import select
from tests.registry.conftest import Backend

from knot.errors import Conflict, Invalid, KnotError, NotFound
from knot.governance import audit
from knot.governance.lineage import Edge, add_edges, edges_from
from knot.governance.tables import audit_log
from knot.registry.entities import (
    MetricThreshold,
    PromotionPolicy,
    RequestStatus,
    VersionStatus,
    VersionUpdate,
)

AUC_POLICY = PromotionPolicy(thresholds=[MetricThreshold(metric="val_auc", value=0.8)])


def audit_rows(backend: Backend, entity_id: str) -> list[tuple[str, Any, Any]]:
    """(action, before, after) of every audit row about `entity_id`, oldest first."""
    t = audit_log
    with backend.db.read() as conn:
        rows = conn.execute(select(t).where(t.c.entity_id == entity_id).order_by(t.c.seq)).all()
    return [(r.action, json.loads(r.before), json.loads(r.after)) for r in rows]


def test_versions_are_numbered_and_tied_to_their_run(backend: Backend, model_name: str) -> None:
    source = backend.model_run({"val_auc": 0.9})
    first = backend.registry.create_version(model_name, source)
    second = backend.registry.create_version(model_name, backend.model_run())
    assert (first.version, second.version) == (1, 2)
    assert first.run_id == source.run_id and first.artifact_digest == source.artifact_digest
    assert first.environment.packages == {"scikit-learn": "1.9.1"}
    assert first.status is VersionStatus.READY and first.uri == f"models:/{model_name}/1"
    assert backend.registry.get_version(model_name, 1) == first
    assert [v.version for v in backend.registry.list_versions(model_name)] == [1, 2]
    model = backend.registry.get_model(model_name)
    assert model.latest_version == 2 and model.aliases == {}
    assert model_name in [m.name for m in backend.registry.list_models()]


def test_a_model_is_created_once(backend: Backend, model_name: str) -> None:
    created = backend.registry.create_model(model_name, "predicts churn")
    assert created.description == "predicts churn" and created.latest_version is None
    with pytest.raises(Conflict, match="already exists"):
        backend.registry.create_model(model_name)
    with pytest.raises(Invalid, match="model name"):
        backend.registry.create_model("no spaces allowed")


def test_a_version_needs_its_run_and_exact_artifact(backend: Backend, model_name: str) -> None:
    source = backend.model_run()
    cases = [
        (source.model_copy(update={"run_id": "0" * 32}), NotFound, "run 0+ not found"),
        (source.model_copy(update={"artifact_path": "other"}), NotFound, "no artifact 'other'"),
        (
            source.model_copy(update={"artifact_digest": "sha256:" + "f" * 64}),
            Conflict,
            "logged again",
        ),
        (source.model_copy(update={"run_id": "not-a-run"}), Invalid, "malformed"),
    ]
    for bad, error, message in cases:
        with pytest.raises(error, match=message):
            backend.registry.create_version(model_name, bad)
    # nothing was half-written: not even the model the first version would have created
    with pytest.raises(NotFound):
        backend.registry.get_model(model_name)


def test_uris_resolve_to_versions(backend: Backend, model_name: str) -> None:
    for _ in range(3):
        backend.registry.create_version(model_name, backend.model_run())
    backend.registry.set_alias(model_name, "challenger", 2)
    resolve = backend.registry.resolve
    assert resolve(f"models:/{model_name}@challenger").version == 2
    assert resolve(f"models:/{model_name}/1").version == 1
    assert resolve(f"models:/{model_name}").version == 3
    assert resolve(f"models:/{model_name}/latest").version == 3
    backend.registry.update_version(model_name, 3, VersionUpdate(status=VersionStatus.ARCHIVED))
    assert resolve(f"models:/{model_name}").version == 2  # latest skips archived versions
    assert resolve(f"models:/{model_name}@challenger").aliases == ["challenger"]


def test_unknown_names_list_what_exists(backend: Backend, model_name: str) -> None:
    backend.registry.create_version(model_name, backend.model_run())
    backend.registry.create_version(model_name, backend.model_run())
    backend.registry.set_alias(model_name, "staging", 1)
    cases = [
        (f"models:/{model_name}x/1", f"registered models: .*{model_name}"),
        (f"models:/{model_name}/7", "has no version 7; its versions: 1, 2"),
        (f"models:/{model_name}@champion", "no alias 'champion'; its aliases: staging -> 1"),
    ]
    for uri, message in cases:
        with pytest.raises(NotFound, match=message):
            backend.registry.resolve(uri)
    with pytest.raises(NotFound, match="versions: 1, 2"):
        backend.registry.get_version(model_name, 9)


@pytest.mark.parametrize(
    "uri",
    ["churn", "models:churn", "models:/", "models:/churn/x", "models:/churn@", "models:/a b"],
)
def test_malformed_uris_name_the_accepted_forms(backend: Backend, uri: str) -> None:
    with pytest.raises(Invalid, match="models:/NAME@ALIAS, models:/NAME/VERSION"):
        backend.registry.resolve(uri)


def test_alias_moves_are_audited_and_deletable(backend: Backend, model_name: str) -> None:
    for _ in range(2):
        backend.registry.create_version(model_name, backend.model_run())
    assert backend.registry.set_alias(model_name, "staging", 1).aliases == ["staging"]
    backend.registry.set_alias(model_name, "staging", 2)
    assert backend.registry.get_model(model_name).aliases == {"staging": 2}
    backend.registry.delete_alias(model_name, "staging")
    assert backend.registry.get_model(model_name).aliases == {}
    assert audit_rows(backend, f"{model_name}@staging") == [
        ("set_alias", None, {"version": 1}),
        ("set_alias", {"version": 1}, {"version": 2}),
        ("delete_alias", {"version": 2}, None),
    ]
    with pytest.raises(NotFound, match="no alias 'staging'"):
        backend.registry.delete_alias(model_name, "staging")
    with pytest.raises(NotFound, match="no version 5"):
        backend.registry.set_alias(model_name, "staging", 5)
    with pytest.raises(Invalid, match="alias 'latest' is kept by Knot for the newest version"):
        backend.registry.set_alias(model_name, "latest", 1)


def test_two_writers_moving_from_the_same_version_one_wins(
    backend: Backend, model_name: str
) -> None:
    for _ in range(3):
        backend.registry.create_version(model_name, backend.model_run())
    backend.registry.set_alias(model_name, "prod", 1)
    writers = [backend.open_registry(), backend.open_registry()]
    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def move(target: int, store: Any) -> None:
        barrier.wait()
        try:
            store.set_alias(model_name, "prod", target, expected_version=1)
            outcome[target] = "won"
        except Conflict as exc:
            outcome[target] = exc.message

    threads = [
        threading.Thread(target=move, args=(v, s)) for v, s in zip((2, 3), writers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in writers:
        store.close()
    winners = [v for v, result in outcome.items() if result == "won"]
    assert len(winners) == 1, outcome
    loser = ({2, 3} - set(winners)).pop()
    assert f"points at version {winners[0]}, not version 1" in outcome[loser]
    assert backend.registry.get_model(model_name).aliases == {"prod": winners[0]}
    assert audit_rows(backend, f"{model_name}@prod")[1:] == [
        ("set_alias", {"version": 1}, {"version": winners[0]})
    ]


def test_concurrent_alias_moves_leave_no_torn_state(backend: Backend, model_name: str) -> None:
    for _ in range(2):
        backend.registry.create_version(model_name, backend.model_run())
    writers = [backend.open_registry(), backend.open_registry()]
    barrier = threading.Barrier(2)

    def moves(target: int, store: Any) -> None:
        barrier.wait()
        for _ in range(10):
            store.set_alias(model_name, "live", target)

    threads = [
        threading.Thread(target=moves, args=(v, s)) for v, s in zip((1, 2), writers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in writers:
        store.close()
    history = audit_rows(backend, f"{model_name}@live")
    assert len(history) == 20
    # each move starts where the one before it ended: no lost or interleaved update
    for (_, _, previous_after), (_, before, _) in itertools.pairwise(history):
        assert before == previous_after
    assert backend.registry.get_model(model_name).aliases == {"live": history[-1][2]["version"]}
    with backend.db.read() as conn:
        assert audit.verify(conn) == []


def test_policy_blocks_a_promotion_below_threshold(backend: Backend, model_name: str) -> None:
    backend.registry.create_version(model_name, backend.model_run({"val_auc": 0.71}))
    backend.registry.create_version(model_name, backend.model_run({"loss": 0.2}))
    backend.registry.set_policy(model_name, AUC_POLICY)
    with pytest.raises(Conflict, match=r"val_auc is 0\.71, needs >= 0\.8"):
        backend.registry.promote(model_name, 1)
    with pytest.raises(Conflict, match="val_auc was never logged"):
        backend.registry.promote(model_name, 2)
    with pytest.raises(Conflict, match="guarded by its promotion policy"):
        backend.registry.set_alias(model_name, "champion", 1)
    assert backend.registry.get_model(model_name).aliases == {}
    assert backend.registry.list_requests(model_name) == []


def test_promotion_without_approver_moves_at_once(backend: Backend, model_name: str) -> None:
    backend.registry.create_version(model_name, backend.model_run({"val_auc": 0.93}))
    backend.registry.set_policy(model_name, AUC_POLICY)
    request = backend.registry.promote(model_name, 1, "champion", comment="best so far")
    assert request.status is RequestStatus.APPLIED and request.decided_by
    assert [(c.actual, c.passed) for c in request.checks] == [(0.93, True)]
    assert backend.registry.resolve(f"models:/{model_name}@champion").version == 1
    # aliases the policy does not guard move without checks
    assert backend.registry.promote(model_name, 1, "shadow").status is RequestStatus.APPLIED
    assert [r.alias for r in backend.registry.list_requests(model_name)] == ["champion", "shadow"]


def test_approval_flow(backend: Backend, model_name: str) -> None:
    for auc in (0.85, 0.9):
        backend.registry.create_version(model_name, backend.model_run({"val_auc": auc}))
    policy = AUC_POLICY.model_copy(
        update={"approver_role": "approver", "allow_self_approval": True}
    )
    backend.registry.set_policy(model_name, policy)
    assert backend.registry.get_policy(model_name) == policy
    pending = backend.registry.promote(model_name, 1, comment="ship it")
    assert pending.status is RequestStatus.PENDING and pending.approver_role == "approver"
    assert backend.registry.promote(model_name, 1).request_id == pending.request_id
    assert backend.registry.get_model(model_name).aliases == {}
    approved = backend.registry.decide(pending.request_id, True, "looks good")
    assert approved.status is RequestStatus.APPROVED and approved.decision_comment == "looks good"
    assert backend.registry.resolve(f"models:/{model_name}@champion").version == 1
    with pytest.raises(Conflict, match="already approved"):
        backend.registry.decide(pending.request_id, False, "too late")

    second = backend.registry.promote(model_name, 2)
    with pytest.raises(Invalid, match="needs a reason"):
        backend.registry.decide(second.request_id, False)
    rejected = backend.registry.decide(second.request_id, False, "wait for the A/B test")
    assert rejected.status is RequestStatus.REJECTED
    assert backend.registry.get_model(model_name).aliases == {"champion": 1}
    statuses = [r.status for r in backend.registry.list_requests(model_name)]
    assert statuses == [RequestStatus.APPROVED, RequestStatus.REJECTED]
    only = backend.registry.list_requests(model_name, RequestStatus.REJECTED)
    assert [r.request_id for r in only] == [second.request_id]
    actions = [a for a, _, _ in audit_rows(backend, pending.request_id)]
    assert actions == ["request_promotion", "approve"]
    with pytest.raises(NotFound, match="promotion request 'nope' not found"):
        backend.registry.decide("nope", True)


def test_policies_are_checked_and_removable(backend: Backend, model_name: str) -> None:
    backend.registry.create_version(model_name, backend.model_run())
    assert backend.registry.get_policy(model_name) is None
    bad = [
        (PromotionPolicy(approver_role="editor"), "cannot approve promotions"),
        (PromotionPolicy(approver_role="owner"), "not one of"),
        (PromotionPolicy(aliases=["bad alias"]), "alias 'bad alias' is not allowed"),
    ]
    for policy, message in bad:
        with pytest.raises(Invalid, match=message):
            backend.registry.set_policy(model_name, policy)
    backend.registry.set_policy(model_name, AUC_POLICY)
    backend.registry.set_policy(model_name, None)
    assert backend.registry.get_policy(model_name) is None
    actions = [a for a, _, _ in audit_rows(backend, model_name) if "policy" in a]
    assert actions == ["set_policy", "delete_policy"]
    with pytest.raises(NotFound, match="not found"):
        backend.registry.set_policy(model_name + "-nope", AUC_POLICY)


def test_card_fields_and_archiving(backend: Backend, model_name: str) -> None:
    for _ in range(2):
        backend.registry.create_version(model_name, backend.model_run())
    backend.registry.set_alias(model_name, "prod", 1)
    update = VersionUpdate(intended_use="monthly churn scores", limitations="US customers only")
    updated = backend.registry.update_version(model_name, 1, update)
    assert (updated.intended_use, updated.limitations) == (update.intended_use, update.limitations)
    archive = VersionUpdate(status=VersionStatus.ARCHIVED)
    with pytest.raises(Conflict, match="prod"):
        backend.registry.update_version(model_name, 1, archive)
    backend.registry.update_version(model_name, 2, archive)
    with pytest.raises(Conflict, match="archived"):
        backend.registry.set_alias(model_name, "prod", 2)
    with pytest.raises(Conflict, match="only ready versions"):
        backend.registry.promote(model_name, 2)
    assert audit_rows(backend, f"{model_name}/1")[-1][0] == "update"


def test_registering_links_dataset_run_and_version(backend: Backend, model_name: str) -> None:
    source = backend.model_run()
    dataset = f"{model_name}-data@3"
    with backend.db.write() as conn:
        add_edges(
            conn,
            [
                Edge("dataset", dataset, "input", "run", source.run_id),
                Edge("dataset", dataset, "validated", "validation_report", "r1"),
            ],
        )
    version = backend.registry.create_version(model_name, source)
    assert version.datasets == [dataset]
    with backend.db.read() as conn:
        produced = edges_from(conn, "run", source.run_id)
        assert [(e.relation, e.to_kind, e.to_id) for e in produced] == [
            ("produced", "model_version", f"{model_name}/1")
        ]
        assert audit.verify(conn) == []
    (data,) = backend.registry.training_data(model_name, 1)
    assert (data.dataset, data.relation) == (dataset, "input")
    assert [(v.kind, v.id) for v in data.validations] == [("validation_report", "r1")]
    assert [a for a, _, _ in audit_rows(backend, model_name)] == ["create"]
    assert [a for a, _, _ in audit_rows(backend, f"{model_name}/1")] == ["create"]


def test_errors_keep_their_type_on_every_backend(backend: Backend, model_name: str) -> None:
    with pytest.raises(NotFound) as caught:
        backend.registry.list_versions(model_name)
    assert isinstance(caught.value, KnotError) and caught.value.field == "name"
