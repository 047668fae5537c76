"""The guards that keep a model's promotion policy from being walked around.

A policy guards some aliases (by default `champion`). Around it:

- A guarded alias moves only through `promote` (and `approve`): setting or deleting it
  directly is refused for every caller, admins included; an admin who must move it by
  hand removes the policy first, which is audited.
- Changing or removing an existing policy needs the role the policy names as its
  approver, or "approver" when it names none (else an editor, who may promote, could
  first lower the thresholds), or a higher one. Creating a policy where there was none
  only adds a guard, so an editor may.
- Live traffic (a weight above 0, not shadow) to the challenger alias of a guarded
  model needs the version it points at to have passed the policy, unless an admin
  sets it: the same holds when that alias is moved while the split is live. A canary
  is the one exception: while a version that meets the thresholds waits for its
  approval, it may answer up to the policy's `max_canary_weight` (0.5 by default) of
  the requests, so the retraining loop can watch it live before anyone approves.

A version has passed the policy when a guarded alias points at it now, when it was
ever promoted (approved, or applied at once) to an alias the policy guards now, or
when the policy names no approver and its thresholds hold for the version's run (then
`promote` would move the alias at once anyway).

Roles come from the caller's token (knot.governance.identity). Without one, a role
check lets the change through and logs that the identity is advisory; the checks
that need no role hold for every caller.
"""

from __future__ import annotations

from sqlalchemy import Connection, column, func, select, table

from knot.errors import Conflict, Forbidden
from knot.governance.identity import advisory, current_role
from knot.governance.roles import ROLES, allows
from knot.registry.aliases import current_version
from knot.registry.entities import CheckResult, PromotionPolicy, RequestStatus, VersionStatus
from knot.registry.rows import aliases_of, version_row
from knot.registry.tables import promotion_policies, promotion_requests
from knot.tracking.tables import metric_summaries

__all__ = [
    "canary_allowed",
    "check_live_move",
    "check_policy_change",
    "check_traffic",
    "load_policy",
    "passed_policy",
    "refuse_guarded_alias",
    "threshold_checks",
]

# The serving area's traffic table (knot.serving.tables), named here without importing
# it: serving sits above the registry, and an alias move must see the live split.
_traffic = table(
    "serving_traffic", column("model"), column("challenger"), column("weight"), column("shadow")
)
_PASSED = (RequestStatus.APPROVED.value, RequestStatus.APPLIED.value)


def load_policy(conn: Connection, name: str) -> PromotionPolicy | None:
    t = promotion_policies
    text = conn.execute(select(t.c.policy).where(t.c.name == name)).scalar()
    return PromotionPolicy.model_validate_json(text) if text else None


def threshold_checks(conn: Connection, policy: PromotionPolicy, run_id: str) -> list[CheckResult]:
    """Each threshold of `policy` against the latest value the run logged."""
    t = metric_summaries
    rows = conn.execute(select(t.c.key, t.c.latest).where(t.c.run_id == run_id))
    metrics: dict[str, float | None] = {r.key: r.latest for r in rows}
    return [
        CheckResult(
            threshold=t, actual=metrics.get(t.metric), passed=t.passes(metrics.get(t.metric))
        )
        for t in policy.thresholds
    ]


def passed_policy(conn: Connection, name: str, version: int, policy: PromotionPolicy) -> bool:
    """Whether `name`/`version` has passed `policy` (see the module doc)."""
    guarded = set(policy.aliases)
    if any(v == version for a, v in aliases_of(conn, name).items() if a in guarded):
        return True
    t = promotion_requests
    promoted = conn.execute(
        select(func.count())
        .select_from(t)
        .where(
            t.c.name == name,
            t.c.version == version,
            t.c.alias.in_(sorted(guarded)),
            t.c.status.in_(_PASSED),
        )
    ).scalar()
    if promoted:
        return True
    if policy.approver_role is not None:
        return False
    row = version_row(conn, name, version)
    return row.status == VersionStatus.READY.value and all(
        c.passed for c in threshold_checks(conn, policy, row.run_id)
    )


def canary_allowed(
    conn: Connection, name: str, version: int, policy: PromotionPolicy, weight: float
) -> bool:
    """Whether `version` may answer `weight` of the live requests as a canary: the
    policy waits for an approver, the weight is within its canary limit and the
    version meets the thresholds."""
    if policy.approver_role is None or weight > policy.max_canary_weight:
        return False
    row = version_row(conn, name, version)
    return row.status == VersionStatus.READY.value and all(
        c.passed for c in threshold_checks(conn, policy, row.run_id)
    )


def _may_go_live(
    conn: Connection, name: str, version: int, policy: PromotionPolicy, weight: float
) -> bool:
    return (
        passed_policy(conn, name, version, policy)
        or canary_allowed(conn, name, version, policy, weight)
        or _is_admin()
    )


def _is_admin() -> bool:
    role = current_role()
    return role is not None and allows(role, "admin")


def refuse_guarded_alias(name: str, alias: str, policy: PromotionPolicy | None, verb: str) -> None:
    """Conflict if `policy` guards `alias`: it moves only through promotion."""
    if policy is None or alias not in policy.aliases:
        return
    needed = policy.approver_role or "approver"
    raise Conflict(
        f"alias {alias!r} of model {name!r} is guarded by its promotion policy, so nobody "
        f"can {verb} it directly; move it through the policy (`knot models promote {name} "
        f"VERSION --to {alias}`), or have someone with the role {needed!r} remove the "
        f"policy first (`knot models policy {name} --clear`)",
        field="alias",
    )


def check_policy_change(
    name: str, before: PromotionPolicy | None, after: PromotionPolicy | None
) -> None:
    """Forbidden unless the caller may change (or remove) the policy `before`."""
    if before is None or before == after:
        return
    what = "removing" if after is None else "changing"
    action = f"{what} the promotion policy of {name!r}"
    needed = before.approver_role or "approver"
    role = current_role()
    if role is None:
        advisory(action)
        return
    if allows(role, needed):
        return
    higher = ", ".join(ROLES[ROLES.index(needed) :])
    raise Forbidden(
        f"{action} needs the role {needed!r} the policy names as its approver (one of: "
        f"{higher}); the caller has the role {role!r}. Ask someone with that role, or an "
        "admin for such a token",
        field="role",
    )


def _refuse_live(
    name: str, alias: str, version: int, weight: float, doing: str, policy: PromotionPolicy
) -> None:
    canary = (
        f"; while it awaits approval it may take at most {policy.max_canary_weight:g} as a "
        "canary if it meets the thresholds"
        if policy.approver_role is not None
        else ""
    )
    raise Forbidden(
        f"{doing} would send {weight:g} of the live requests of {name!r} to version {version} "
        f"(through alias {alias!r}), which has not passed the model's promotion policy (never "
        f"promoted to an alias it guards){canary}. Promote it first (`knot models promote "
        f"{name} {version}`), send it only a shadow copy (`knot traffic set {name} --shadow`), "
        "or ask an admin",
        field="weight",
    )


def check_traffic(
    conn: Connection, name: str, challenger: str, weight: float, shadow: bool
) -> None:
    """Forbidden if a live split would answer requests with a version that has not
    passed `name`'s policy and the caller is no admin."""
    if weight <= 0 or shadow:
        return
    policy = load_policy(conn, name)
    if policy is None:
        return
    version = current_version(conn, name, challenger)
    # an unset challenger answers nothing; moving it later goes through check_live_move
    if version is None or _may_go_live(conn, name, version, policy, weight):
        return
    _refuse_live(name, challenger, version, weight, f"a traffic weight of {weight:g}", policy)


def check_live_move(conn: Connection, name: str, alias: str, version: int) -> None:
    """Forbidden if `alias` is the challenger of a live split of a guarded model and
    `version` has not passed its policy (and the caller is no admin)."""
    t = _traffic
    live = conn.execute(
        select(t.c.weight, t.c.shadow).where(t.c.model == name, t.c.challenger == alias)
    ).first()
    if live is None or live.shadow or float(live.weight) <= 0:
        return
    policy = load_policy(conn, name)
    if policy is None or _may_go_live(conn, name, version, policy, float(live.weight)):
        return
    doing = f"pointing alias {alias!r} there"
    _refuse_live(name, alias, version, float(live.weight), doing, policy)
