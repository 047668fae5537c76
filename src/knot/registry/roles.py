"""The registry's one permission check: may this caller approve a promotion?

Roles are those of API tokens (knot.governance.roles: viewer < editor < approver <
admin). A caller passes the roles it holds; None means a local caller using the store
directly, which is allowed: on a machine with the database file, nothing stronger
can be enforced, so the decision logs that the identity is advisory
(knot.governance.identity.advisory). The server passes the roles of the request's token.
"""

from __future__ import annotations

from collections.abc import Collection

from knot.governance.roles import Forbidden, allows

__all__ = ["require_role"]


def require_role(needed: str | None, roles: Collection[str] | None, action: str) -> None:
    """Raise Forbidden unless `needed` is None, `roles` is None, or a role allows it."""
    if needed is None or roles is None:
        return
    if any(allows(role, needed) for role in roles):
        return
    held = ", ".join(sorted(roles)) or "none"
    raise Forbidden(
        f"{action} needs the role {needed!r} (or a higher one); the caller has: {held}. "
        f"Ask an admin for a token with role {needed!r}",
        field="role",
    )
