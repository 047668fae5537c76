"""Roles of API tokens, and the two errors a server with auth on answers.

Roles are ranked; each may do what the ones before it may:
    viewer    read everything (GET)
    editor    also write: runs, metrics, datasets, models, aliases
    approver  also approve or reject promotions
    admin     everything
"""

from __future__ import annotations

from knot.errors import Forbidden, Invalid, Unauthorized

__all__ = ["ROLES", "Forbidden", "Unauthorized", "allows", "check_role"]

ROLES = ("viewer", "editor", "approver", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def check_role(role: str) -> str:
    """`role` if it is one of ROLES, else Invalid naming them."""
    if role not in _RANK:
        raise Invalid(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    return role


def allows(role: str, needed: str) -> bool:
    """Whether a token with `role` may do what needs `needed`."""
    return _RANK.get(role, -1) >= _RANK[check_role(needed)]
