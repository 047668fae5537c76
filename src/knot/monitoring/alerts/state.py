"""An alert rule's state machine, one step per judged window:

    ok/resolved --breach--> pending (streak < consecutive) --breach--> firing
    firing --no breach--> resolved        (any state) --no breach--> ok

"fired" is emitted on entering firing, "resolved" on leaving it, so an alert fires
once and resolves once however many windows it stays in either state.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIRING", "OK", "PENDING", "RESOLVED", "RuleState", "change", "step"]

OK, PENDING, FIRING, RESOLVED = "ok", "pending", "firing", "resolved"


@dataclass(frozen=True)
class RuleState:
    state: str = OK
    streak: int = 0  # consecutive breaching windows up to now

    @property
    def firing(self) -> bool:
        return self.state == FIRING


def step(before: RuleState, breached: bool, consecutive: int) -> RuleState:
    """The state after one more window."""
    if breached:
        streak = before.streak + 1
        return RuleState(FIRING if streak >= consecutive else PENDING, streak)
    if before.firing or before.state == RESOLVED:
        return RuleState(RESOLVED, 0)
    return RuleState(OK, 0)


def change(shown: RuleState, after: RuleState) -> tuple[RuleState, str | None]:
    """The event moving from the state users were last told (`shown`) to `after` causes,
    and the state to keep: leaving firing always ends in resolved."""
    if after.firing and not shown.firing:
        return after, "fired"
    if shown.firing and not after.firing:
        return RuleState(RESOLVED, after.streak), "resolved"
    return after, None
