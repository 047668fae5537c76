"""A rule ready to run: the aggregate SQL that measures it and how to judge the value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from knot.data.rules.report import RuleResult, RuleStatus

__all__ = ["Judge", "Planned", "count_rule"]

# (aggregate value, rows) -> (passed, failing rows or None, what was observed)
Judge = Callable[[Any, int], tuple[bool, int | None, str]]


@dataclass
class Planned:
    """One rule, ready to run: its aggregate SQL and how to judge the value it gives."""

    name: str
    kind: str
    column: str | None
    expected: str
    aggregate: str | None = None
    judge: Judge | None = None
    violation: str | None = None  # true for a row that breaks the rule: examples come from it
    duplicates_of: str | None = None  # unique rules show duplicated values as examples
    decided: RuleResult | None = None

    def result(
        self,
        status: RuleStatus,
        observed: str | None = None,
        failing: int | None = None,
        message: str | None = None,
    ) -> RuleResult:
        return RuleResult(
            name=self.name,
            kind=self.kind,
            column=self.column,
            status=status,
            expected=self.expected,
            observed=observed,
            failing=failing,
            message=message,
        )


def count_rule(
    name: str,
    kind: str,
    column: str | None,
    expected: str,
    violation: str,
    limit: float = 0.0,
    *,
    mostly: float = 1.0,
) -> Planned:
    """A rule broken by single rows: it passes while the share of failing rows <= limit,
    or, with `mostly` below 1, while at least that share of rows passes."""
    if mostly < 1.0:
        limit = max(limit, 1.0 - mostly)
        expected = f"{expected}, for at least {mostly:.2%} of rows"

    def judge(failing: Any, rows: int) -> tuple[bool, int | None, str]:
        n = int(failing or 0)
        share = n / rows if rows else 0.0
        observed = f"{n:,} failing rows ({share:.2%})" if n else "no failing rows"
        return share <= limit if limit else n == 0, n, observed

    return Planned(
        name, kind, column, expected, f"count(*) FILTER (WHERE {violation})", judge, violation
    )
