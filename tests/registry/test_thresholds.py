"""Promotion thresholds: every accepted form parses, everything else is Invalid and
says what is accepted. (Model URIs and names: tests/test_refs.py.)"""

from __future__ import annotations

import pytest

from knot.errors import Invalid
from knot.registry.entities import MetricThreshold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("val_auc >= 0.8", ("val_auc", ">=", 0.8)),
        ("loss<0.25", ("loss", "<", 0.25)),
        (" eval/f1 > 1e-3 ", ("eval/f1", ">", 0.001)),
        ("drift <= -2", ("drift", "<=", -2.0)),
    ],
)
def test_thresholds_parse(text: str, expected: tuple[str, str, float]) -> None:
    t = MetricThreshold.parse(text)
    assert (t.metric, t.op, t.value) == expected
    assert t.passes(expected[2]) is (expected[1] in (">=", "<="))


@pytest.mark.parametrize("text", ["val_auc", "auc >> 1", "auc = 0.8", ">= 0.8", "auc >= high"])
def test_malformed_thresholds_name_the_form(text: str) -> None:
    with pytest.raises(Invalid, match="write METRIC OP NUMBER"):
        MetricThreshold.parse(text)


def test_a_missing_or_nan_metric_never_passes() -> None:
    t = MetricThreshold.parse("auc >= 0")
    assert not t.passes(None) and not t.passes(float("nan")) and t.passes(0.0)
