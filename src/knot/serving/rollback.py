"""Rollback: move an alias back to the version it pointed at before its last move,
found in the audit log (every alias move is audited, and so is the rollback itself).
A service following the alias swaps back within its poll interval."""

from __future__ import annotations

from knot.errors import Conflict, NotFound
from knot.governance.audit_query import AuditQuery
from knot.registry.entities import ModelVersion

__all__ = ["previous_version", "rollback"]


def previous_version(name: str, alias: str = "champion") -> int:
    """The version `alias` of model `name` pointed at before its latest move."""
    from knot.governance.fluent import governance

    query = AuditQuery(entity_kind="model_alias", entity_id=f"{name}@{alias}", limit=100_000)
    moves = [r for r in governance().audit_log(query) if r.action == "set_alias"]
    if not moves:
        raise NotFound(
            f"alias {alias!r} of model {name!r} was never moved, so there is nothing to roll "
            f"back to; see `knot models versions {name}`",
            field="alias",
        )
    before = moves[-1].before
    if not isinstance(before, dict) or "version" not in before:
        raise Conflict(
            f"alias {alias!r} of model {name!r} had no version before its latest move; "
            f"roll back with --to VERSION",
            field="alias",
        )
    return int(before["version"])


def rollback(name: str, alias: str = "champion", to: int | None = None) -> ModelVersion:
    """Point `alias` back at its previous version (or at `to`). Only moves the alias if
    nobody moved it meanwhile; a policy-guarded alias moves through `promote` (its
    thresholds and approvals still apply)."""
    from knot.registry.fluent import registry

    store = registry()
    current = store.get_model(name).aliases.get(alias)
    if current is None:
        raise NotFound(f"model {name!r} has no alias {alias!r} to roll back", field="alias")
    target = to if to is not None else previous_version(name, alias)
    if target == current:
        raise Conflict(
            f"alias {alias!r} of model {name!r} already points at version {target}",
            field="to",
        )
    policy = store.get_policy(name)
    if policy is not None and alias in policy.aliases:
        request = store.promote(name, target, alias, f"rollback from version {current}")
        if request.status.value == "pending":
            raise Conflict(
                f"rollback of {name}@{alias} to version {target} needs approval by role "
                f"{request.approver_role!r}: `knot models approve {request.request_id}`",
                field="alias",
            )
        return store.get_version(name, target)
    return store.set_alias(name, alias, target, expected_version=current)
