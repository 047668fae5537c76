"""Promotion through a model's policy, inside a caller's transaction.

A policy guards some aliases (by default `champion`). Moving a guarded alias checks
each metric threshold against the latest value the version's run logged: a failure is
a Conflict that names the metric and changes nothing. If the policy names an approver
role, the move waits as a pending request until someone with that role approves it
(never its requester, unless the policy allows self-approval); otherwise it happens at
once. Every request and decision is a row and an audit record.

The requester and the approver are told apart by identity: on a server with auth, the
token's name, which the caller cannot choose; without auth, KNOT_USER or the OS user,
which anyone can set, so a decision then logs that the identity is advisory
(knot.governance.identity). The other guards around the policy are in
knot.registry.guards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Row, select

from knot.errors import Conflict, Invalid, NotFound
from knot.governance import audit
from knot.governance.identity import advisory, current_actor
from knot.governance.roles import Forbidden
from knot.registry.aliases import move_alias
from knot.registry.entities import CheckResult, PromotionRequest, RequestStatus, VersionStatus
from knot.registry.guards import check_live_move, load_policy, threshold_checks
from knot.registry.roles import require_role
from knot.registry.rows import lock_model, version_row
from knot.registry.tables import promotion_requests
from knot.store.database import now_ms

__all__ = ["decide", "load_policy", "request_entity", "request_promotion"]


def _refuse_failed(name: str, version: int, alias: str, checks: list[CheckResult]) -> None:
    failed = [c for c in checks if not c.passed]
    if not failed:
        return
    why = "; ".join(
        f"{c.threshold.metric} is {c.actual:g}, needs {c.threshold.op} {c.threshold.value:g}"
        if c.actual is not None
        else f"{c.threshold.metric} was never logged by the version's run (needs "
        f"{c.threshold.op} {c.threshold.value:g})"
        for c in failed
    )
    raise Conflict(
        f"promotion of {name}/{version} to {alias!r} is blocked by the model's policy: {why}. "
        f"Promote a better version, or change the policy (`knot models policy {name}`)",
        field="policy",
    )


def _ready(row: Row[Any]) -> None:
    if row.status != VersionStatus.READY.value:
        raise Conflict(
            f"version {row.name}/{row.version} is {row.status}; only ready versions can be "
            "promoted. Set it ready again with `knot models update`",
            field="version",
        )


def request_entity(row: Row[Any] | dict[str, Any]) -> PromotionRequest:
    data = dict(row._mapping) if isinstance(row, Row) else dict(row)
    data["checks"] = json.loads(data["checks"])
    return PromotionRequest.model_validate(data)


def _audit_row(request: PromotionRequest) -> dict[str, Any]:
    return request.model_dump(mode="json", exclude={"checks"})


def request_promotion(
    conn: Connection, name: str, version: int, alias: str, comment: str | None
) -> PromotionRequest:
    """Move `alias` through the policy, or leave a pending request; see the module doc."""
    lock_model(conn, name)
    row = version_row(conn, name, version)
    _ready(row)
    policy = load_policy(conn, name)
    guarded = policy is not None and alias in policy.aliases
    checks = threshold_checks(conn, policy, row.run_id) if policy is not None and guarded else []
    _refuse_failed(name, version, alias, checks)
    needs_approval = guarded and policy is not None and policy.approver_role is not None
    if not guarded:
        check_live_move(conn, name, alias, version)
    t = promotion_requests
    if needs_approval:
        pending = conn.execute(
            select(t).where(
                t.c.name == name,
                t.c.version == version,
                t.c.alias == alias,
                t.c.status == RequestStatus.PENDING.value,
            )
        ).first()
        if pending is not None:
            return request_entity(pending)
    actor, at = current_actor(), now_ms()
    values: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "name": name,
        "version": version,
        "alias": alias,
        "status": (RequestStatus.PENDING if needs_approval else RequestStatus.APPLIED).value,
        "approver_role": policy.approver_role if needs_approval and policy else None,
        "checks": json.dumps([c.model_dump(mode="json") for c in checks]),
        "comment": comment,
        "requested_at": at,
        "requested_by": actor,
        "decided_at": None if needs_approval else at,
        "decided_by": None if needs_approval else actor,
        "decision_comment": None,
    }
    conn.execute(t.insert(), values)
    request = request_entity(values)
    audit.record(
        conn,
        "request_promotion",
        "promotion_request",
        request.request_id,
        None,
        _audit_row(request),
    )
    if not needs_approval:
        move_alias(conn, name, alias, version)
    return request


def _request_row(conn: Connection, request_id: str) -> Row[Any]:
    t = promotion_requests
    row = conn.execute(select(t).where(t.c.request_id == request_id)).first()
    if row is None:
        raise NotFound(
            f"promotion request {request_id!r} not found; `knot models requests NAME` lists a "
            "model's requests",
            field="request_id",
        )
    return row


def decide(
    conn: Connection,
    request_id: str,
    approve: bool,
    comment: str | None,
    roles: Collection[str] | None,
) -> PromotionRequest:
    """Approve (re-checking the policy, then moving the alias) or reject a pending request."""
    name = _request_row(conn, request_id).name
    lock_model(conn, name)
    row = _request_row(conn, request_id)  # read again under the lock: it may have changed
    verb = "approve" if approve else "reject"
    what = f"{verb[:-1]}ing the promotion of {name}/{row.version} to {row.alias!r}"
    if row.status != RequestStatus.PENDING.value:
        raise Conflict(
            f"promotion request {request_id} is already {row.status} (by {row.decided_by}); "
            f"only pending requests can be decided",
            field="request_id",
        )
    require_role(row.approver_role, roles, what)
    policy = load_policy(conn, name)
    actor = current_actor()
    if actor == row.requested_by and not (policy is not None and policy.allow_self_approval):
        raise Forbidden(
            f"{actor!r} requested this promotion and cannot {verb} it too; ask another person "
            "with the approver role (or set allow_self_approval in the policy)",
            field="actor",
        )
    if not approve and not (comment and comment.strip()):
        raise Invalid("a rejection needs a reason; pass one with --reason", field="comment")
    checks = json.loads(row.checks)
    if approve:
        version = version_row(conn, name, row.version)
        _ready(version)
        if policy is not None and row.alias in policy.aliases:
            fresh = threshold_checks(conn, policy, version.run_id)
            _refuse_failed(name, row.version, row.alias, fresh)
            checks = [c.model_dump(mode="json") for c in fresh]
    advisory(what)
    status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    values = {
        "status": status.value,
        "decided_at": now_ms(),
        "decided_by": actor,
        "decision_comment": comment,
        "checks": json.dumps(checks),
    }
    t = promotion_requests
    conn.execute(t.update().where(t.c.request_id == request_id).values(**values))
    before = request_entity(row)
    after = request_entity({**row._mapping, **values})
    audit.record(conn, verb, "promotion_request", request_id, _audit_row(before), _audit_row(after))
    if approve:
        move_alias(conn, name, row.alias, row.version)
    return after
