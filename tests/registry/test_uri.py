"""Model URIs, names and thresholds: every accepted form parses, everything else is
Invalid and says what is accepted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knot.errors import Invalid
from knot.registry.entities import MetricThreshold
from knot.registry.uri import ModelRef, parse_model_uri, parse_run_uri

NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
ALIASES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True).filter(
    lambda a: a != "latest"
)


@pytest.mark.parametrize(
    ("uri", "ref"),
    [
        ("models:/churn@champion", ModelRef("churn", alias="champion")),
        ("models:/churn/3", ModelRef("churn", version=3)),
        ("models:/churn", ModelRef("churn")),
        ("models:/churn/latest", ModelRef("churn")),
        ("models:/fraud.v2_eu-1/12", ModelRef("fraud.v2_eu-1", version=12)),
    ],
)
def test_accepted_forms(uri: str, ref: ModelRef) -> None:
    assert parse_model_uri(uri) == ref


@given(NAMES, st.one_of(st.none(), st.integers(1, 2**31 - 1), ALIASES))
def test_a_ref_prints_as_a_uri_that_parses_back(name: str, selector: int | str | None) -> None:
    if isinstance(selector, int):
        ref = ModelRef(name, version=selector)
    elif isinstance(selector, str):
        ref = ModelRef(name, alias=selector)
    else:
        ref = ModelRef(name)
    assert parse_model_uri(str(ref)) == ref


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("churn", ""),
        ("models:churn", ""),
        ("runs:/abc/model", ""),
        ("models:/", "model name ''"),
        ("models:/churn/0", "versions are 1, 2, 3"),
        ("models:/churn/-1", "not a number"),
        ("models:/churn/3/4", "not a number"),
        ("models:/churn@", "alias ''"),
        ("models:/churn@latest", "reserved"),
        ("models:/churn@9lives", "starting with a letter"),
        ("models:/-churn", "starting with a letter or digit"),
    ],
)
def test_malformed_uris_say_the_accepted_forms(uri: str, why: str) -> None:
    with pytest.raises(Invalid, match="use models:/NAME@ALIAS") as caught:
        parse_model_uri(uri)
    assert why in caught.value.message and caught.value.field == "uri"


def test_run_uris() -> None:
    run_id = "0123456789abcdef" * 2
    assert parse_run_uri(f"runs:/{run_id}/model").artifact_path == "model"
    assert parse_run_uri(f"runs:/{run_id}/models/a").artifact_path == "models/a"
    for bad in ("runs:/short/model", f"runs:/{run_id}", f"runs:/{run_id}/../x", "models:/a"):
        with pytest.raises(Invalid, match="runs:/RUN_ID/ARTIFACT_PATH"):
            parse_run_uri(bad)


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
