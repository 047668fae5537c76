"""One slot per area for the function that opens its store: knot.backends (a door above
the areas) fills each slot when `knot` is imported, so an area opens its store without
importing a door, and import-linter sees every arrow to an implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["OpenerSlot"]

Opener = TypeVar("Opener", bound=Callable[..., Any])


class OpenerSlot(Generic[Opener]):
    """Holds the opener of one area's store (`what` names the area in the error)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._opener: Opener | None = None

    def install(self, opener: Opener) -> None:
        """Use `opener` from now on (knot.backends calls this)."""
        self._opener = opener

    def get(self) -> Opener:
        if self._opener is None:
            raise RuntimeError(f"no {self.what} backends installed; import knot first")
        return self._opener
