"""What `knot check` reports: one result per gate, and whether all of them passed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["CheckReport", "GateResult"]


class GateResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["data", "quality", "fairness"]
    name: str
    passed: bool
    summary: str
    details: list[str] = []  # why it failed first, then what was measured
    passed_checks: list[str] = []  # each check of the gate that passed, with its numbers
    failed_checks: list[str] = []  # each check that failed: expected vs observed
    data: dict[str, Any] = {}  # the full measurement (validation report, evaluation, rates)


class CheckReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    config: str
    gates: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def summary(self) -> str:
        """One line: how many gates passed, and which failed."""
        head = f"{self.config}: {len(self.gates) - len(self.failed)}/{len(self.gates)} gates passed"
        failed = ", ".join(g.name for g in self.failed)
        return f"{head}; failed: {failed}" if failed else head

    def __repr__(self) -> str:
        return f"<CheckReport {self.summary()}>"

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, **self.model_dump(mode="json")}
