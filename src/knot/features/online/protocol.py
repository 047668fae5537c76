"""The online store's small interface, shared by SQLite and Redis.

Each view's values live in numbered generations: materialization writes generation
N+1 beside N (starting from a copy of N when it only adds newer rows), then `publish`
moves the view's pointer to N+1 in one atomic step and drops N. A read resolves the
pointer and the values together (one SQLite statement, one Redis script), so a reader
sees either the old generation or the new one, never a half-written one, and never a
dropped one.

Values are opaque bytes to the store: orjson of [event time in ms, feature values...].
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CLAIM_SECONDS", "OnlineStore", "Pointer"]

CLAIM_SECONDS = 3600


@dataclass(frozen=True)
class Pointer:
    """Where readers of one view look: its current generation, the newest event time
    written (the watermark the next incremental run starts after, ms since the epoch)
    and the feature view version the values were computed for."""

    generation: int
    watermark: int | None
    view_version: int


class OnlineStore(Protocol):
    uri: str

    def pointer(self, view: str) -> Pointer | None:
        """The view's current pointer; None before its first materialization."""
        ...

    def claim(self, view: str, generation: int) -> bool:
        """Reserve `generation` of `view` for one materialization: False when another
        run holds it (a claim left by a run that died expires after CLAIM_SECONDS)."""
        ...

    def write(
        self,
        view: str,
        generation: int,
        batches: Iterable[tuple[Sequence[str], Sequence[bytes]]],
        base: int | None,
    ) -> int:
        """Fill `generation` of `view`, unseen by readers: a copy of generation `base`
        (None: empty), then each batch of (entity keys, values) on top. Rows written."""
        ...

    def publish(self, view: str, pointer: Pointer) -> None:
        """Point readers at `pointer.generation` atomically, then drop older generations."""
        ...

    def read(self, lookups: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        """For each (view, entity keys), the value per key (None: none stored), in one
        round trip to the store for all views."""
        ...

    def read_one(self, view: str, key: str) -> bytes | None:
        """`read([(view, [key])])[0][0]`, the serving hot path of a one-view service
        asked for one entity, without the batch's lists."""
        ...

    def close(self) -> None: ...
