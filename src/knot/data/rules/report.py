"""Validation reports: one result per rule, with the failing count and example rows."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RuleResult", "RuleStatus", "ValidationReport"]


class RuleStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # an optional column that is absent, or a column that is missing


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="e.g. age.range, email.regex, table.row_count, active_spend")
    kind: str
    column: str | None = None
    status: RuleStatus
    expected: str
    observed: str | None = None
    failing: int | None = Field(default=None, description="rows that break the rule")
    examples: list[dict[str, Any]] = Field(default_factory=list)
    message: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is not RuleStatus.FAILED


class ValidationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    report_id: str | None = None
    dataset: str | None = Field(default=None, description="the version checked, e.g. churn@3")
    source: str | None = None
    rows: int
    reference: str | None = None
    results: list[RuleResult]
    created_at: int

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if r.status is RuleStatus.FAILED]

    def __repr__(self) -> str:
        return f"<ValidationReport {self.summary()}>"

    def summary(self) -> str:
        """One line: how many rules passed, and which failed with how many rows."""
        what = self.dataset or self.source or "data"
        checked = [r for r in self.results if r.status is not RuleStatus.SKIPPED]
        head = (
            f"{what}: {len(checked) - len(self.failed)}/{len(checked)} rules passed "
            f"over {self.rows:,} rows"
        )
        if not self.failed:
            return head
        parts = [
            f"{r.name} ({r.failing:,} rows)" if r.failing else f"{r.name} ({r.observed})"
            for r in self.failed
        ]
        return f"{head}; failed: {', '.join(parts)}"
