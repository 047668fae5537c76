"""Turn a RuleSet into SQL: each rule becomes one aggregate, so all of them run in one
scan. Rules that the schema alone decides (presence, type) need no scan at all."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from knot.data.canonical import column_kind
from knot.data.duck import ident, literal
from knot.data.profile import Profile, exact_quantiles
from knot.data.rules.planned import Planned, count_rule
from knot.data.rules.report import RuleStatus
from knot.data.rules.ruleset import ColumnRules, RuleSet, parse_duration
from knot.data.rules.stat_checks import statistical_rules
from knot.errors import Invalid

__all__ = ["plan_rules"]

_ORDERED = ("integer", "float", "decimal", "timestamp", "date", "string")


def plan_rules(
    rules: RuleSet,
    schema: pa.Schema,
    rows: int,
    reference: Profile | None = None,
    reference_name: str | None = None,
) -> list[Planned]:
    planned: list[Planned] = []
    numeric = sum(column_kind(f.type) in ("integer", "float", "decimal") for f in schema)
    exact = exact_quantiles(rows, numeric)
    for column, col_rules in rules.columns.items():
        planned.extend(_plan_column(column, col_rules, schema, reference, reference_name, exact))
    table = rules.table
    if table.row_count is not None:
        low, high = table.row_count.min, table.row_count.max
        expected = (
            " and ".join(
                p
                for p in (
                    f">= {low:,}" if low is not None else "",
                    f"<= {high:,}" if high is not None else "",
                )
                if p
            )
            or "any"
        )
        p = Planned("table.row_count", "row_count", None, f"row count {expected}")
        ok = (low is None or rows >= low) and (high is None or rows <= high)
        p.decided = p.result(RuleStatus.PASSED if ok else RuleStatus.FAILED, f"{rows:,} rows")
        planned.append(p)
    for check in table.checks:
        planned.append(
            count_rule(
                check.name,
                "check",
                None,
                check.sql,
                f"NOT coalesce(CAST(({check.sql}) AS BOOLEAN), TRUE)",
                mostly=check.mostly,
            )
        )
    return planned


def _plan_column(
    column: str,
    r: ColumnRules,
    schema: pa.Schema,
    reference: Profile | None,
    reference_name: str | None,
    exact: bool,
) -> list[Planned]:
    present = Planned(f"{column}.present", "present", column, "column present")
    index = schema.get_field_index(column)
    wanted = _rule_names(column, r)
    if index < 0:
        if r.required:
            present.decided = present.result(
                RuleStatus.FAILED,
                "column is missing",
                message=f"columns: {', '.join(schema.names)}",
            )
        else:
            present.decided = present.result(RuleStatus.SKIPPED, "optional column is absent")
        skipped = [Planned(f"{column}.{k}", k, column, "-") for k in wanted]
        for p in skipped:
            p.decided = p.result(RuleStatus.SKIPPED, message=f"column {column!r} is absent")
        return [present, *skipped]
    present.decided = present.result(RuleStatus.PASSED, "present")
    arrow_type = schema.field(index).type
    kind, col = column_kind(arrow_type), ident(column)
    out = [present]
    if r.type is not None:
        p = Planned(f"{column}.type", "type", column, f"type {r.type}")
        ok = _type_matches(r.type, arrow_type, kind)
        p.decided = p.result(
            RuleStatus.PASSED if ok else RuleStatus.FAILED, f"{arrow_type} ({kind})"
        )
        out.append(p)
    if r.not_null:
        out.append(
            count_rule(
                f"{column}.not_null",
                "not_null",
                column,
                "no nulls",
                f"{col} IS NULL",
                mostly=r.mostly,
            )
        )
    if r.max_null_fraction is not None:
        out.append(
            count_rule(
                f"{column}.max_null_fraction",
                "max_null_fraction",
                column,
                f"nulls <= {r.max_null_fraction:.2%}",
                f"{col} IS NULL",
                r.max_null_fraction or 1e-300,
            )
        )
    if r.unique:

        def unique_judge(dupes: Any, rows: int) -> tuple[bool, int | None, str]:
            n = int(dupes or 0)
            return n == 0, n, f"{n:,} duplicate values" if n else "all values unique"

        out.append(
            Planned(
                f"{column}.unique",
                "unique",
                column,
                "values unique",
                f"count({col}) - count(DISTINCT {col})",
                unique_judge,
                duplicates_of=column,
            )
        )
    if r.min is not None or r.max is not None:
        out.append(_range(column, col, kind, r))
    if r.allowed is not None:
        out.append(
            count_rule(
                f"{column}.allowed",
                "allowed",
                column,
                f"one of {r.allowed}",
                _not_allowed(col, kind, r.allowed),
                mostly=r.mostly,
            )
        )
    if r.regex is not None:
        out.append(
            count_rule(
                f"{column}.regex",
                "regex",
                column,
                f"matches {r.regex}",
                f"{col} IS NOT NULL AND NOT regexp_matches(CAST({col} AS VARCHAR), "
                f"{literal(r.regex)})",
                mostly=r.mostly,
            )
        )
    if r.min_length is not None or r.max_length is not None:
        length = f"length(CAST({col} AS VARCHAR))"
        tests = [
            f"{length} < {r.min_length}" if r.min_length is not None else "",
            f"{length} > {r.max_length}" if r.max_length is not None else "",
        ]
        expected = f"length in [{r.min_length or 0}, {r.max_length or '...'}]"
        out.append(
            count_rule(
                f"{column}.length",
                "length",
                column,
                expected,
                " OR ".join(t for t in tests if t),
                mostly=r.mostly,
            )
        )
    if r.max_age is not None:
        out.append(_freshness(column, col, kind, r.max_age))
    if r.mean_within is not None or r.quantiles_within:
        out.extend(statistical_rules(column, col, kind, r, reference, reference_name, exact))
    return out


def _rule_names(column: str, r: ColumnRules) -> list[str]:
    names = [
        k
        for k in (
            "type",
            "not_null",
            "max_null_fraction",
            "unique",
            "allowed",
            "regex",
            "max_age",
            "mean_within",
            "quantiles_within",
        )
        if getattr(r, k) not in (None, False)
    ]
    if r.min is not None or r.max is not None:
        names.append("range")
    if r.min_length is not None or r.max_length is not None:
        names.append("length")
    return names


def _type_matches(wanted: str, arrow_type: pa.DataType, kind: str) -> bool:
    if wanted == "number":
        return kind in ("integer", "float", "decimal")
    if wanted == "string":
        return kind == "string" or (
            kind == "categorical" and column_kind(arrow_type.value_type) == "string"
        )
    if wanted in (
        "integer",
        "float",
        "decimal",
        "boolean",
        "timestamp",
        "date",
        "categorical",
        "binary",
    ):
        return kind == wanted
    return str(arrow_type) == wanted


def _bound(column: str, kind: str, value: Any, which: str) -> str:
    if kind in ("timestamp", "date"):
        if not isinstance(value, str | date):
            raise Invalid(
                f"rule {column}.range: {which} {value!r} must be a date or time such "
                "as '2024-01-31' for a timestamp column",
                field=f"columns.{column}",
            )
        text = value.isoformat() if isinstance(value, date) else value
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(
                f"rule {column}.range: {which} {value!r} is not an ISO date or time "
                "(e.g. '2024-01-31' or '2024-01-31T12:00')",
                field=f"columns.{column}",
            ) from None
        return f"CAST({literal(text)} AS {'DATE' if kind == 'date' else 'TIMESTAMP'})"
    return literal(value)


def _range(column: str, col: str, kind: str, r: ColumnRules) -> Planned:
    name = f"{column}.range"
    expected = (
        f"{r.min if r.min is not None else '-inf'} <= {column} <= "
        f"{r.max if r.max is not None else 'inf'}"
    )
    bounds = [b for b in (r.min, r.max) if b is not None]
    numeric_bounds = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
    fits = (
        kind in ("timestamp", "date")
        or (kind in ("integer", "float", "decimal") and numeric_bounds)
        or (kind == "string" and not numeric_bounds)
    )
    if kind not in _ORDERED or not fits:
        p = Planned(name, "range", column, expected)
        p.decided = p.result(
            RuleStatus.FAILED,
            f"column is {kind}",
            message="min/max need a numeric, date or text column with bounds of the same kind",
        )
        return p
    tests = []
    if r.min is not None:
        tests.append(f"{col} < {_bound(column, kind, r.min, 'min')}")
    if r.max is not None:
        tests.append(f"{col} > {_bound(column, kind, r.max, 'max')}")
    return count_rule(name, "range", column, expected, " OR ".join(tests), mostly=r.mostly)


def _not_allowed(col: str, kind: str, allowed: list[Any]) -> str:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in allowed)
    bools = all(isinstance(v, bool) for v in allowed)
    if (numbers and kind in ("integer", "float", "decimal")) or (bools and kind == "boolean"):
        return f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(literal(v) for v in allowed)})"
    texts = [str(v).lower() if isinstance(v, bool) else str(v) for v in allowed]
    return (
        f"{col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN "
        f"({', '.join(literal(v) for v in texts)})"
    )


def _freshness(column: str, col: str, kind: str, max_age: str) -> Planned:
    name, limit = f"{column}.max_age", parse_duration(max_age)
    p = Planned(name, "max_age", column, f"newest value at most {max_age} old")
    if kind not in ("timestamp", "date"):
        p.decided = p.result(
            RuleStatus.FAILED,
            f"column is {kind}",
            message="max_age needs a timestamp or date column",
        )
        return p

    def judge(newest: Any, rows: int) -> tuple[bool, int | None, str]:
        if newest is None:
            return False, None, "no values"
        age = time.time() - float(newest)
        when = datetime.fromtimestamp(float(newest)).isoformat(timespec="seconds")
        return age <= limit, None, f"newest {when} ({age / 3600:,.1f} h old)"

    p.aggregate, p.judge = f"epoch(max({col}))", judge
    return p
