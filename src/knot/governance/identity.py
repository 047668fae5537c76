"""Who is acting: the token's identity on a server with auth on, else KNOT_USER or the
OS user.

The server sets the actor, and the role of the token it was authenticated with, for
the duration of a request; audit records and the registry's guards read them.

Without a token the identity is advisory: KNOT_USER (or the OS user) is whatever the
caller says, nobody verifies it, and there is no role. Guards that need a role (who
may approve a promotion, change or remove a promotion policy) then let the change
through and log a warning through `advisory`; guards that need no role (a guarded
alias moves only by promotion, live traffic only to versions that passed the policy)
hold for every caller. Enforcement needs `knot server --auth` and its tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["ADVISORY", "acting_as", "advisory", "current_actor", "current_role"]

log = logging.getLogger("knot.identity")

ADVISORY = "identity is advisory without auth"


@dataclass(frozen=True)
class _Acting:
    actor: str
    role: str | None


_acting: ContextVar[_Acting | None] = ContextVar("knot_actor", default=None)


def current_actor() -> str:
    acting = _acting.get()
    if acting is not None:
        return acting.actor
    from knot.config import settings

    return settings().user


def current_role() -> str | None:
    """The role of the token the caller was authenticated with; None without a token."""
    acting = _acting.get()
    return acting.role if acting is not None else None


@contextmanager
def acting_as(actor: str, role: str | None = None) -> Iterator[None]:
    """Act as `actor`; `role` only when a token proved it (the server's auth does)."""
    token = _acting.set(_Acting(actor, role))
    try:
        yield
    finally:
        _acting.reset(token)


def advisory(action: str) -> None:
    """Warn that `action` happens under an identity nobody verified (no token)."""
    if current_role() is not None:
        return
    log.warning(
        "%s: %s is recorded as %r (KNOT_USER or the OS user), which nobody verified and "
        "which holds no role; run `knot server --auth` and act with tokens to enforce roles",
        ADVISORY,
        action,
        current_actor(),
    )
