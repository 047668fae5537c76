"""What `knot.drift` answers: per column the test, its statistic or p-value, the
threshold and whether the column drifted; over the dataset the share of drifted
columns; and the prediction column's drift apart from the features."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, computed_field

from knot.monitoring.drift.stats import P_VALUE_TESTS

__all__ = ["PREDICTION", "ColumnDrift", "Distribution", "DriftReport"]

PREDICTION = "prediction"  # the column reported apart from the features


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True)


class Distribution(_Model):
    """Shares of reference and current values per bin, for pictures: numeric columns
    have `edges` (one more than the shares), categorical ones `categories`."""

    edges: list[float] | None = None
    categories: list[str] | None = None
    reference: list[float]
    current: list[float]


class ColumnDrift(_Model):
    """One column's verdict. `p_value` is the test's own for ks and chisquare; for a
    distance (wasserstein, jensenshannon, psi) it is the two-sample test's beside it
    (KS, or the chi-square on the same bins), which must reject too for drift; for
    Wasserstein on a sample it is computed only once the distance reaches its threshold
    (below it the column has not drifted either way).
    `warnings` say why the verdict deserves less trust (small window, many levels,
    sparse bins, a distance within noise, a column with no values)."""

    column: str
    kind: Literal["numeric", "categorical"]
    test: str
    statistic: float | None
    p_value: float | None = None
    threshold: float
    drifted: bool
    missing_share_ref: float
    missing_share_cur: float
    new_categories: list[str] = []
    approximate: bool = False
    reference_count: int
    current_count: int
    distribution: Distribution | None = None
    warnings: list[str] = []

    @property
    def score(self) -> float | None:
        """The number compared with the threshold: the p-value of a test, else the
        distance."""
        return self.p_value if self.test in P_VALUE_TESTS else self.statistic


class DriftReport(_Model):
    columns: list[ColumnDrift]
    prediction: ColumnDrift | None = None
    drift_share: float
    reference_rows: int
    current_rows: int

    @classmethod
    def of(
        cls,
        results: Sequence[ColumnDrift],
        *,
        drift_share: float,
        reference_rows: int,
        current_rows: int,
    ) -> DriftReport:
        """The report of per-column `results`, the `prediction` column's apart."""
        return cls(
            columns=[r for r in results if r.column != PREDICTION],
            prediction=next((r for r in results if r.column == PREDICTION), None),
            drift_share=drift_share,
            reference_rows=reference_rows,
            current_rows=current_rows,
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share_drifted(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dataset_drifted(self) -> bool:
        return bool(self.columns) and self.share_drifted >= self.drift_share

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warnings(self) -> list[str]:
        """Every column's warnings, each prefixed with its column's name."""
        shown = [*self.columns, *([self.prediction] if self.prediction else [])]
        return [f"{c.column}: {w}" for c in shown for w in c.warnings]

    def summary(self) -> str:
        """One line: the verdict, how many columns drifted (which), on how many rows."""
        verdict = "drifted" if self.dataset_drifted else "no dataset drift"
        which = f" ({', '.join(self.drifted_columns)})" if self.drifted_columns else ""
        line = (
            f"{verdict}: {len(self.drifted_columns)}/{len(self.columns)} columns drifted"
            f"{which}; {self.current_rows:,} current vs {self.reference_rows:,} reference rows"
        )
        if self.prediction is not None:
            line += f"; prediction {'drifted' if self.prediction.drifted else 'stable'}"
        return line

    def __repr__(self) -> str:
        return f"<DriftReport {self.summary()}>"

    def column(self, name: str) -> ColumnDrift | None:
        return next((c for c in self.columns if c.column == name), None)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @overload
    def to_html(self, path: None = None, title: str = "Data drift") -> str: ...

    @overload
    def to_html(self, path: str | Path, title: str = "Data drift") -> Path: ...

    def to_html(self, path: str | Path | None = None, title: str = "Data drift") -> str | Path:
        """The report as one HTML page (knot.page's shell, plotly.js inline so it opens
        offline): the per-column table, then reference vs current distributions of every
        column. Given a `path` it writes the page there, as `write_html` does; that form
        is deprecated."""
        from knot.monitoring.drift.drift_html import drift_page

        if path is None:
            return drift_page(self, title).to_html()
        warnings.warn(
            "DriftReport.to_html(path) is deprecated; use report.write_html(path)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.write_html(path, title)

    def write_html(self, path: str | Path, title: str = "Data drift") -> Path:
        """Write the page of `to_html()` to `path` (its folder is created), whole or
        not at all, and return the path."""
        from knot.monitoring.drift.drift_html import drift_page

        return drift_page(self, title).write_html(path)
