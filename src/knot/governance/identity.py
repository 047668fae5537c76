"""Who is acting: the OS/KNOT_USER user locally, the token's identity on the server.

The server sets the actor for the duration of a request; audit records read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["acting_as", "current_actor"]

_actor: ContextVar[str | None] = ContextVar("knot_actor", default=None)


def current_actor() -> str:
    actor = _actor.get()
    if actor is not None:
        return actor
    from knot.config import settings

    return settings().user


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)
