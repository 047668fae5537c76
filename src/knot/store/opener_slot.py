"""One slot per area for the function that opens its store: knot.backends (a door above
the areas) fills each slot when `knot` is imported, so an area opens its store without
importing a door, and import-linter sees every arrow to an implementation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["OpenerSlot", "PerSession"]

Opener = TypeVar("Opener", bound=Callable[..., Any])


class _Closable(Protocol):
    def close(self) -> None: ...


Store = TypeVar("Store", bound=_Closable)


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


class PerSession(Generic[Store]):
    """An area's store for the current tracking session: opened on first use, kept while
    the session lasts, closed and opened again when the session changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[object, Store] | None = None

    def get(self, session: object, open_store: Callable[[], Store]) -> Store:
        with self._lock:
            if self._current is not None and self._current[0] is session:
                return self._current[1]
            if self._current is not None:
                self._current[1].close()
            store = open_store()
            self._current = (session, store)
            return store
