"""Validation rules, written in YAML or Python, checked against every new version.

    columns:
      age: {type: integer, not_null: true, min: 18, max: 120}
      plan: {allowed: [basic, plus, pro]}
      email: {regex: '^[^@]+@[^@]+$', max_null_fraction: 0.01, mostly: 0.999}
      signed_up: {max_age: 2d}
      spend: {mean_within: 0.1, quantiles_within: {0.5: 0.1, 0.9: {abs: 20}}}
    table:
      row_count: {min: 1000}
      reference: churn@latest       # the profile that mean/quantile rules compare with
      checks:
        - {name: active_spend, sql: "status != 'active' or spend > 0", mostly: 0.99}

`mostly` (as Great Expectations names it) is the share of rows that must pass a
column's row rules (not_null, range, allowed, regex, length) or a check: 0.999 lets
one row in a thousand fail. Without it every row must pass.

In Python the same shape is a dict, or `RuleSet(columns={"age": ColumnRules(...)})`.
A malformed rule raises Invalid naming the rule and the field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from knot.errors import Invalid, NotFound

__all__ = [
    "Check",
    "ColumnRules",
    "RowCount",
    "RuleSet",
    "TableRules",
    "Tolerance",
    "load_rules",
    "parse_duration",
]

TYPE_FAMILIES = (
    "integer",
    "float",
    "number",
    "decimal",
    "string",
    "boolean",
    "timestamp",
    "date",
    "categorical",
    "binary",
)
_ARROW_TYPES = re.compile(
    r"u?int(8|16|32|64)|halffloat|double|string|large_string|bool|binary|date32\[day\]"
    r"|date64\[ms\]|timestamp\[(s|ms|us|ns)(, tz=[^\]]+)?\]|decimal(32|64|128|256)\(\d+, \d+\)"
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
Scalar = bool | int | float | str


def parse_duration(text: str) -> float:
    """Seconds in a duration such as '90s', '15m', '36h', '2d' or '1w'."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; write a number and s, m, h, d or w, e.g. 36h"
        )
    return float(match.group(1)) * _SECONDS[match.group(2)]


_MOSTLY = "share of rows that must pass each row rule, e.g. 0.999 (1: every row)"


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tolerance(_Rules):
    """How far a statistic may move from the reference: `rel` is a fraction of the
    reference value's size, `abs` an amount in the column's units."""

    rel: float | None = Field(default=None, ge=0)
    abs: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"rel": value}
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Tolerance:
        if (self.rel is None) == (self.abs is None):
            raise ValueError("give exactly one of rel (a fraction, e.g. 0.1) or abs (an amount)")
        return self

    def allows(self, observed: float, reference: float) -> bool:
        limit = self.abs if self.abs is not None else (self.rel or 0.0) * abs(reference)
        return abs(observed - reference) <= limit

    def describe(self) -> str:
        return f"{self.rel:.0%}" if self.rel is not None else f"{self.abs:g}"


class ColumnRules(_Rules):
    """Every rule Knot knows for one column; unset rules are not checked."""

    required: bool = True
    type: str | None = None
    not_null: bool = False
    max_null_fraction: float | None = Field(default=None, ge=0, le=1)
    unique: bool = False
    min: Scalar | None = None
    max: Scalar | None = None
    allowed: list[Scalar] | None = Field(default=None, min_length=1)
    regex: str | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    max_age: str | None = None
    mean_within: Tolerance | None = None
    quantiles_within: dict[float, Tolerance] | None = None
    mostly: float = Field(default=1.0, gt=0, le=1, description=_MOSTLY)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is None or value in TYPE_FAMILIES or _ARROW_TYPES.fullmatch(value):
            return value
        raise ValueError(
            f"{value!r} is not a type Knot knows; use one of {', '.join(TYPE_FAMILIES)} "
            "or an Arrow type name such as int64, double or timestamp[us]"
        )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("quantiles_within")
    @classmethod
    def _quantiles(cls, value: dict[float, Tolerance] | None) -> dict[float, Tolerance] | None:
        for q in value or {}:
            if not 0 < q < 1:
                raise ValueError(f"quantile {q} must be between 0 and 1, e.g. 0.5 for the median")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ColumnRules:
        for low, high in (("min", "max"), ("min_length", "max_length")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and type(a) is type(b) and a > b:
                raise ValueError(f"{low} ({a!r}) is greater than {high} ({b!r})")
        return self


class RowCount(_Rules):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> RowCount:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Check(_Rules):
    """A row-level condition over any columns, as a DuckDB SQL expression; a row fails
    when it is false (NULL passes, as in a SQL CHECK constraint)."""

    name: str = Field(min_length=1, max_length=128)
    sql: str = Field(min_length=1)
    mostly: float = Field(default=1.0, gt=0, le=1, description=_MOSTLY)

    @field_validator("sql")
    @classmethod
    def _one_expression(cls, value: str) -> str:
        if ";" in value:
            raise ValueError("must be one SQL expression, without ';'")
        return value


class TableRules(_Rules):
    row_count: RowCount | None = None
    checks: list[Check] = Field(default_factory=list)
    reference: str | None = Field(
        default=None, description="dataset whose profile mean/quantile rules compare with"
    )

    @field_validator("checks")
    @classmethod
    def _unique_names(cls, value: list[Check]) -> list[Check]:
        names = [c.name for c in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"check names {dupes} are used more than once; name each check once")
        return value


class RuleSet(_Rules):
    columns: dict[str, ColumnRules] = Field(default_factory=dict)
    table: TableRules = Field(default_factory=TableRules)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def from_data(cls, data: object, origin: str = "rules") -> RuleSet:
        """Validate a dict in the YAML shape; raise Invalid naming the rule and field."""
        if not isinstance(data, Mapping):
            raise Invalid(
                f"{origin} must be a mapping with 'columns' and/or 'table', got "
                f"{type(data).__name__}",
                field="rules",
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _explain(exc, origin) from None

    @classmethod
    def from_yaml(cls, text: str, origin: str = "rules") -> RuleSet:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise Invalid(
                f"{origin} is not valid YAML{where}: {problem}; fix the file", field="rules"
            ) from None
        return cls.from_data({} if data is None else data, origin)


def load_rules(rules: RuleSet | Mapping[str, Any] | str | Path) -> RuleSet:
    """A RuleSet from itself, a dict, a YAML file path, or YAML text."""
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, Mapping):
        return RuleSet.from_data(rules)
    if isinstance(rules, str) and ("\n" in rules or rules.lstrip().startswith("{")):
        return RuleSet.from_yaml(rules)
    if isinstance(rules, str | Path):
        path = Path(rules)
        if not path.is_file():
            raise NotFound(f"rules file {path} does not exist; check the path", field="rules")
        return RuleSet.from_yaml(path.read_text(encoding="utf-8"), f"rules file {path}")
    raise Invalid(
        f"rules must be a RuleSet, a dict, a YAML file path or YAML text, got "
        f"{type(rules).__name__}",
        field="rules",
    )


def _explain(exc: ValidationError, origin: str) -> Invalid:
    problems = []
    first_loc = None
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error["loc"] if not str(p).startswith(("function-", "union"))]
        loc = [p for p in loc if p not in ("bool", "int", "float", "str", "list[...]")]
        where = ".".join(loc) or "(top level)"
        first_loc = first_loc or where
        if error["type"] == "extra_forbidden":
            parent, field = ".".join(loc[:-1]) or "(top level)", loc[-1]
            problems.append(f"{parent}: unknown field {field!r}{_suggest(field, loc)}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message} (got {_short(error.get('input'))})")
    return Invalid(f"{origin}: " + "; ".join(problems) + "; fix the rule", field=first_loc)


def _suggest(field: str, loc: list[str]) -> str:
    model: type[BaseModel] = RuleSet
    if len(loc) >= 3 and loc[0] == "columns":
        model = ColumnRules
    elif len(loc) == 2 and loc[0] == "table":
        model = TableRules
    known = list(model.model_fields)
    close = difflib.get_close_matches(field, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; known fields: {', '.join(known)}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
