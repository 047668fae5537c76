"""Every rule kind on data that passes it and data that breaks it, plus bad rule files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from knot.data.profile import compute_profile
from knot.data.rules.report import RuleStatus, ValidationReport
from knot.data.rules.ruleset import RuleSet, load_rules
from knot.data.rules.validate import validate_parquet
from knot.errors import Invalid, NotFound
from tests.data.conftest import customers


def _file(tmp_path: Path, frame: pd.DataFrame, name: str = "t.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def _check(
    tmp_path: Path, frame: pd.DataFrame, rules: dict[str, Any], **kw: Any
) -> ValidationReport:
    return validate_parquet(_file(tmp_path, frame), RuleSet.from_data(rules), **kw)


def _status(report: ValidationReport, name: str) -> RuleStatus:
    return next(r.status for r in report.results if r.name == name)


GOOD = customers()
BAD = customers().assign(
    age=[200 if i == 7 else 18 + i % 80 for i in range(200)],
    plan=["gold" if i == 3 else ("basic", "plus", "pro")[i % 3] for i in range(200)],
    email=["broken" if i == 5 else None if i % 2 else f"u{i}@x.io" for i in range(200)],
    id=[0, *list(range(199))],
    spend=[0.0 if i == 11 else 5.0 for i in range(200)],
)

# (rule name, column rules or table rules, the rule set)
CASES = [
    ("age.present", {"columns": {"age": {}}}),
    ("age.type", {"columns": {"age": {"type": "integer"}}}),
    ("age.not_null", {"columns": {"email": {"not_null": True}, "age": {"not_null": True}}}),
    ("email.max_null_fraction", {"columns": {"email": {"max_null_fraction": 0.1}}}),
    ("id.unique", {"columns": {"id": {"unique": True}}}),
    ("age.range", {"columns": {"age": {"min": 18, "max": 120}}}),
    ("plan.allowed", {"columns": {"plan": {"allowed": ["basic", "plus", "pro"]}}}),
    ("email.regex", {"columns": {"email": {"regex": "^[^@]+@[^@]+$"}}}),
    ("email.length", {"columns": {"email": {"min_length": 7, "max_length": 40}}}),
    (
        "active_spend",
        {"table": {"checks": [{"name": "active_spend", "sql": "status != 'active' or spend > 0"}]}},
    ),
]


@pytest.mark.parametrize(("name", "rules"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_passes_good_data_and_fails_bad_data(
    tmp_path: Path, name: str, rules: dict[str, Any]
) -> None:
    good = _check(tmp_path, GOOD, rules)
    assert _status(good, name) is RuleStatus.PASSED, good.results
    bad_frame = BAD if name != "age.present" else BAD.drop(columns=["age"])
    bad_frame = bad_frame if name not in ("age.type",) else BAD.assign(age=BAD.age.astype(str))
    if name == "age.not_null":
        bad_frame = BAD.assign(age=[None if i == 9 else 30 for i in range(200)])
    bad = _check(tmp_path, bad_frame, rules)
    assert _status(bad, name) is RuleStatus.FAILED, bad.results
    assert not bad.passed


def test_failing_rules_count_rows_and_show_examples(tmp_path: Path) -> None:
    report = _check(
        tmp_path, BAD, {"columns": {"age": {"min": 18, "max": 120}, "id": {"unique": True}}}
    )
    age = next(r for r in report.results if r.name == "age.range")
    assert age.failing == 1
    assert age.examples == [{"row": 7, **{k: v for k, v in age.examples[0].items() if k != "row"}}]
    assert age.examples[0]["age"] == 200
    dupes = next(r for r in report.results if r.name == "id.unique")
    assert dupes.failing == 1 and dupes.examples == [{"value": 0, "count": 2}]
    assert "age.range (1 rows)" in report.summary()


def test_row_count_bounds(tmp_path: Path) -> None:
    assert _check(tmp_path, GOOD, {"table": {"row_count": {"min": 100, "max": 500}}}).passed
    report = _check(tmp_path, GOOD, {"table": {"row_count": {"min": 1000}}})
    assert _status(report, "table.row_count") is RuleStatus.FAILED


def test_freshness_of_a_timestamp_column(tmp_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    fresh = GOOD.assign(signed_up=[now - pd.Timedelta(minutes=i) for i in range(200)])
    assert _check(tmp_path, fresh, {"columns": {"signed_up": {"max_age": "1d"}}}).passed
    stale = _check(tmp_path, GOOD, {"columns": {"signed_up": {"max_age": "1d"}}})
    assert _status(stale, "signed_up.max_age") is RuleStatus.FAILED
    wrong = _check(tmp_path, GOOD, {"columns": {"age": {"max_age": "1d"}}})
    assert _status(wrong, "age.max_age") is RuleStatus.FAILED


def test_timestamp_range_takes_iso_dates(tmp_path: Path) -> None:
    rules = {"columns": {"signed_up": {"min": "2024-01-01", "max": "2024-02-01"}}}
    assert _check(tmp_path, GOOD, rules).passed
    rules = {"columns": {"signed_up": {"max": "2024-01-02"}}}
    assert _check(tmp_path, GOOD, rules).results[-1].failing == 200 - 25


def test_statistical_rules_compare_with_a_reference_profile(tmp_path: Path) -> None:
    reference = compute_profile(_file(tmp_path, GOOD, "ref.parquet"))
    rules = {"columns": {"spend": {"mean_within": 0.05, "quantiles_within": {0.5: 0.1}}}}
    same = _check(tmp_path, GOOD, rules, reference=reference, reference_name="c@1")
    assert same.passed, same.results
    shifted = GOOD.assign(spend=GOOD.spend * 2)
    moved = _check(tmp_path, shifted, rules, reference=reference, reference_name="c@1")
    assert _status(moved, "spend.mean_within") is RuleStatus.FAILED
    assert _status(moved, "spend.quantiles_within") is RuleStatus.FAILED
    absolute = {"columns": {"spend": {"mean_within": {"abs": 100}}}}
    assert _check(tmp_path, shifted, absolute, reference=reference).passed
    with pytest.raises(Invalid, match="reference profile"):
        _check(tmp_path, GOOD, rules)
    with pytest.raises(Invalid, match=r"quantiles_within asks for \[0.42\]"):
        _check(
            tmp_path,
            GOOD,
            {"columns": {"spend": {"quantiles_within": {0.42: 0.1}}}},
            reference=reference,
        )


def test_optional_absent_column_is_skipped_and_required_one_fails(tmp_path: Path) -> None:
    report = _check(
        tmp_path,
        GOOD,
        {"columns": {"x": {"required": False, "not_null": True}, "y": {"not_null": True}}},
    )
    assert _status(report, "x.present") is RuleStatus.SKIPPED
    assert _status(report, "x.not_null") is RuleStatus.SKIPPED
    assert _status(report, "y.present") is RuleStatus.FAILED
    assert _status(report, "y.not_null") is RuleStatus.SKIPPED


def test_the_issue_rules_file_shape_works(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("""
columns:
  age: {type: integer, not_null: true, min: 18, max: 120}
  plan: {allowed: [basic, plus, pro]}
  email: {regex: '^[^@]+@[^@]+$', max_null_fraction: 0.01}
table:
  row_count: {min: 100}
  checks:
    - {name: active_spend, sql: "status != 'active' or spend > 0"}
""")
    report = validate_parquet(_file(tmp_path, GOOD), load_rules(rules))
    # 4 of 200 emails are null: 2% is over the 1% allowed; everything else holds
    assert [r.name for r in report.failed] == ["email.max_null_fraction"]
    assert len(report.results) == 11  # 3 presence checks and 8 rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "columns:\n  age: {not_nul: true}\n",
            r"columns\.age: unknown field 'not_nul' \(did you mean 'not_null'\?\)",
        ),
        (
            "columns:\n  email: {max_null_fraction: 1.5}\n",
            r"columns\.email\.max_null_fraction: .*less than or equal to 1",
        ),
        (
            "columns:\n  age: {min: 10, max: 5}\n",
            r"columns\.age: .*min \(10\) is greater than max \(5\)",
        ),
        ("columns:\n  age: {type: integr}\n", r"columns\.age\.type: 'integr' is not a type"),
        (
            "columns:\n  email: {regex: '(['}\n",
            r"columns\.email\.regex: .*not a regular expression",
        ),
        ("columns:\n  t: {max_age: soon}\n", r"columns\.t\.max_age: 'soon' is not a duration"),
        ("table:\n  checks:\n    - {name: x}\n", r"table\.checks\.0\.sql: Field required"),
        (
            "table:\n  checks:\n    - {name: x, sql: 'a > 1; drop table t'}\n",
            r"table\.checks\.0\.sql: must be one SQL expression",
        ),
        ("colums: {}\n", r"unknown field 'colums' \(did you mean 'columns'\?\)"),
        ("columns: [1, 2]\n", r"columns: "),
        ("columns:\n  age: {min: 1\n", r"not valid YAML at line"),
        ("- just a list\n", r"must be a mapping"),
    ],
)
def test_malformed_rules_name_the_rule_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(Invalid, match=message) as info:
        load_rules(path)
    assert str(path) in info.value.message


def test_missing_rules_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")


def test_sql_the_engine_rejects_names_the_check(tmp_path: Path) -> None:
    rules = {"table": {"checks": [{"name": "typo", "sql": "no_such_column > 1"}]}}
    with pytest.raises(Invalid, match="rule 'typo' could not be checked"):
        _check(tmp_path, GOOD, rules)


def test_checks_cannot_read_other_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    sql = f"(SELECT count(*) FROM read_csv('{secret}')) > 0"
    with pytest.raises(Invalid, match="could not be checked"):
        _check(tmp_path, GOOD, {"table": {"checks": [{"name": "escape", "sql": sql}]}})


def test_python_rule_objects_equal_the_yaml_shape() -> None:
    from knot.data.rules.ruleset import Check, ColumnRules, TableRules

    built = RuleSet(
        columns={"age": ColumnRules(type="integer", min=18)},
        table=TableRules(checks=[Check(name="c", sql="age > 0")]),
    )
    assert built == load_rules(
        "columns:\n  age: {type: integer, min: 18}\ntable:\n  checks: [{name: c, sql: age > 0}]\n"
    )
    assert RuleSet.model_validate(built.to_json()) == built


def test_mostly_lets_a_share_of_rows_fail_and_no_more(tmp_path: Path) -> None:
    # one bad age and one bad plan in 200 rows: 0.5% of rows fail each rule
    loose = {
        "columns": {
            "age": {"max": 120, "mostly": 0.99},
            "plan": {"allowed": ["basic", "plus", "pro"], "mostly": 0.995},
        }
    }
    report = _check(tmp_path, BAD, loose)
    assert _status(report, "age.range") is RuleStatus.PASSED
    assert _status(report, "plan.allowed") is RuleStatus.PASSED
    age = next(r for r in report.results if r.name == "age.range")
    assert age.failing == 1 and "at least 99.00% of rows" in age.expected
    strict = {"columns": {"age": {"max": 120, "mostly": 0.999}}}
    assert _status(_check(tmp_path, BAD, strict), "age.range") is RuleStatus.FAILED
    check = {"table": {"checks": [{"name": "adult", "sql": "age <= 120", "mostly": 0.99}]}}
    assert _status(_check(tmp_path, BAD, check), "adult") is RuleStatus.PASSED
    check["table"]["checks"][0]["mostly"] = 0.999  # type: ignore[index]
    assert _status(_check(tmp_path, BAD, check), "adult") is RuleStatus.FAILED


@pytest.mark.parametrize("mostly", [0, -0.1, 1.5, "most"])
def test_mostly_outside_0_to_1_is_refused(mostly: object) -> None:
    with pytest.raises(Invalid, match=r"columns\.age\.mostly"):
        RuleSet.from_data({"columns": {"age": {"min": 0, "mostly": mostly}}})
