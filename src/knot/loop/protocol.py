"""What the retrain loop asks of a store, so the controller runs the same against a SQL
database or a Knot server.

Every write that must be all-or-nothing is one call: taking the lease is a
compare-and-set, and each step of a retraining is one `Move` (the state change with its
retrain record, cursors and lineage edges), which the store applies in one transaction
that fails with LeaseLost, writing nothing, when the mover no longer holds the lease.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from knot.loop.state import LoopState, Retrain, State

__all__ = ["Cursor", "LineEdge", "LoopStore", "Move", "RetrainEnd"]

#: a retrain id: 32 lowercase hex digits (uuid4().hex)
RETRAIN_ID = re.compile(r"^[0-9a-f]{32}$")
RetrainId = Annotated[str, StringConstraints(pattern=RETRAIN_ID.pattern)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Kind = Annotated[str, StringConstraints(min_length=1, max_length=32)]
TRIGGER_KINDS = frozenset({"dataset", "alert", "schedule", "manual"})
MAX_DETAIL = 100_000


class Cursor(BaseModel):
    """A trigger's cursor moved past what fired (a manual request is consumed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Annotated[str, StringConstraints(pattern=r"^(dataset|alert|schedule|manual)$")]
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    value: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")]


class LineEdge(BaseModel):
    """A lineage edge a step records; one of its ends is the retraining."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_kind: Kind
    from_id: Text
    relation: Kind
    to_kind: Kind
    to_id: Text


class RetrainEnd(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["promoted", "rejected", "rolled_back", "failed"]
    reason: Annotated[str, StringConstraints(max_length=10_000)]


class Move(BaseModel):
    """One step of a model's loop, written in one transaction by the lease holder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Text
    owner: Text
    before: State  # the state the mover read (for the audit row)
    before_retrain: RetrainId | None
    to: State
    retrain_id: RetrainId | None  # the retraining the loop carries after the move
    detail: dict[str, Any]
    #: start retraining `retrain_id`, fired by these triggers (each has a "kind")
    start: list[dict[str, Any]] | None = None
    advance: list[Cursor] = Field(default_factory=list)
    challenger_version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    run_id: Text | None = None  # the challenger's training run
    finish: RetrainEnd | None = None  # end `before_retrain` with this outcome
    edges: list[LineEdge] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Refuse a move that could not come from a controller: a start without a new
        retrain id, a finish with nothing to finish, an edge that does not touch the
        retraining, or a detail too large to keep in the state row."""
        size = len(json.dumps(self.detail, default=str))
        if size > MAX_DETAIL:
            raise ValueError(f"detail is {size} bytes of JSON; keep it under {MAX_DETAIL}")
        if self.start is not None:
            if self.retrain_id is None or self.retrain_id == self.before_retrain:
                raise ValueError("a move that starts a retraining needs a new retrain_id")
            kinds = [t.get("kind") for t in self.start]
            if not kinds or not all(k in TRIGGER_KINDS for k in kinds):
                raise ValueError(
                    f"every trigger of start needs a kind among {sorted(TRIGGER_KINDS)}, "
                    f"got {kinds}"
                )
        if self.finish is not None and self.before_retrain is None:
            raise ValueError("finish needs before_retrain, the retraining it ends")
        ours = {("retrain", r) for r in (self.retrain_id, self.before_retrain) if r}
        for e in self.edges:
            if (e.from_kind, e.from_id) not in ours and (e.to_kind, e.to_id) not in ours:
                raise ValueError(
                    f"edge {e.from_kind}:{e.from_id} -{e.relation}-> {e.to_kind}:{e.to_id} "
                    "does not touch the retraining this move is part of"
                )
        return self


class LoopStore(Protocol):
    """The loop's persisted state, lease, cursors and retrain history."""

    def read_state(self, model: str) -> LoopState | None: ...

    def acquire(self, model: str, owner: str, ttl_ms: int) -> LoopState | None:
        """Take (or keep) the lease; None when another live controller holds it."""
        ...

    def heartbeat(self, model: str, owner: str, ttl_ms: int) -> None:
        """Push the lease's expiry forward; LeaseLost when it is no longer ours."""
        ...

    def release(self, model: str, owner: str) -> None: ...

    def move(self, move: Move) -> None:
        """Apply one step atomically; LeaseLost (nothing written) when not held."""
        ...

    def list_retrains(self, model: str) -> list[Retrain]: ...

    def read_cursors(self, model: str) -> dict[str, str]: ...

    def seed_cursors(self, model: str, seeds: dict[str, str]) -> None:
        """Set the cursors in `seeds` that have no value yet (others may have seeded)."""
        ...

    def request_manual(self, model: str) -> int:
        """Ask the loop to retrain on its next look; the request time (ms)."""
        ...

    def close(self) -> None: ...
