"""What an import did, kind by kind: copied now, found already there, skipped on
purpose, or failed, each skip and failure with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["KINDS", "Note", "Outcome", "Summary"]

#: what an import copies, in the order it copies them
KINDS = ("experiments", "runs", "artifacts", "models", "versions", "aliases")
Outcome = Literal["imported", "present", "skipped", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("imported", "present", "skipped", "failed")


@dataclass(frozen=True)
class Note:
    """Why one item was skipped or failed."""

    outcome: Outcome
    kind: str
    item: str
    why: str


@dataclass
class Summary:
    counts: dict[str, dict[Outcome, int]] = field(
        default_factory=lambda: {k: dict.fromkeys(OUTCOMES, 0) for k in KINDS}
    )
    notes: list[Note] = field(default_factory=list)
    metric_points: int = 0

    def add(self, kind: str, outcome: Outcome, item: str = "", why: str = "") -> None:
        self.counts[kind][outcome] += 1
        if outcome in ("skipped", "failed"):
            self.notes.append(Note(outcome, kind, item, why))

    def total(self, outcome: Outcome) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "counts": self.counts,
            "metric_points": self.metric_points,
            "notes": [
                {"outcome": n.outcome, "kind": n.kind, "item": n.item, "why": n.why}
                for n in self.notes
            ],
        }
