"""A report printed in a notebook or a log is one line that says what it found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import knot
from knot.data.rules.ruleset import RuleSet
from knot.data.rules.validate import validate_parquet
from knot.gates.report import CheckReport, GateResult


def test_a_validation_report_reprs_as_its_summary(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"age": [20, 30, 200]}).to_parquet(path)
    report = validate_parquet(path, RuleSet.from_data({"columns": {"age": {"max": 120}}}))
    text = repr(report)
    assert "\n" not in text and text.startswith("<ValidationReport ")
    assert "1/2 rules passed over 3 rows" in text and "age.range (1 rows)" in text


def test_a_drift_report_reprs_as_its_verdict() -> None:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 2000), "b": rng.normal(0, 1, 2000)})
    current = pd.DataFrame({"a": rng.normal(3, 1, 2000), "b": rng.normal(0, 1, 2000)})
    text = repr(knot.drift(reference, current))
    assert "\n" not in text and text.startswith("<DriftReport ")
    assert "1/2 columns drifted (a)" in text and "2,000 current vs 2,000 reference" in text


def test_a_check_report_reprs_with_its_failed_gates() -> None:
    gates = [
        GateResult(kind="data", name="data churn@3", passed=True, summary="ok"),
        GateResult(kind="quality", name="quality auc vs champion", passed=False, summary="no"),
    ]
    text = repr(CheckReport(config="knot-check.yaml", gates=gates))
    assert text == (
        "<CheckReport knot-check.yaml: 1/2 gates passed; failed: quality auc vs champion>"
    )
