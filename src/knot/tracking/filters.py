"""Run search filters and orderings, parsed into SQLAlchemy expressions.

    metrics.auc > 0.8 and params.model = "lgbm"
    (tags.team = 'ml' or tags.team = 'ds') and status != 'FAILED'
    params.model in ('lgbm', 'xgb') and metrics.`val-loss` <= 0.3

Metrics compare their latest value (from metric_summaries, never the points table);
params and tags compare as strings; attributes are columns of the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, false, not_, or_, select

from knot.errors import Invalid
from knot.tracking.tables import metric_summaries, params, tags

__all__ = ["order_item", "parse_filter", "parse_order_by"]

ATTRIBUTES = {
    "run_id": "run_id",
    "experiment_id": "experiment_id",
    "name": "name",
    "run_name": "name",
    "status": "status",
    "start_time": "start_time",
    "end_time": "end_time",
    "user": "user",
    "parent_run_id": "parent_run_id",
    "git_commit": "git_commit",
}
_ENTITY = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op><=|>=|!=|<>|==|=|<|>)
    | (?P<punct>[(),])
    | (?P<ident>[A-Za-z_][\w]*(?:\.(?:`[^`]+`|[\w\-/:]+(?:\.[\w\-/:]+)*))?)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike"}
_HELP = (
    "write comparisons like metrics.auc > 0.8, params.model = 'lgbm', tags.team != 'x', "
    "status = 'FINISHED', joined with and/or"
)


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Invalid(
                f"filter {text!r}: cannot read {text[pos:].strip()[:20]!r} at character {pos}; "
                + _HELP,
                field="filter",
            )
        kind = match.lastgroup or ""
        value, start = match.group(kind), match.start(kind)
        if kind == "ident" and value.lower() in _KEYWORDS:
            kind = "keyword"
            value = value.lower()
        tokens.append(_Tok(kind, value, start))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, runs: Table) -> None:
        self.text = text
        self.runs = runs
        self.tokens = _tokenize(text)
        self.i = 0

    def fail(self, message: str) -> Invalid:
        return Invalid(f"filter {self.text!r}: {message}; {_HELP}", field="filter")

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.fail("it ends too early")
        if (kind and tok.kind != kind) or (text and tok.text != text):
            raise self.fail(f"expected {text or kind} at character {tok.pos}, got {tok.text!r}")
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind in ("keyword", "punct") and tok.text == text:
            self.i += 1
            return True
        return False

    def parse(self) -> ColumnElement[bool]:
        expr = self.or_expr()
        if self.peek() is not None:
            tok = self.peek()
            assert tok is not None
            raise self.fail(f"unexpected {tok.text!r} at character {tok.pos}")
        return expr

    def or_expr(self) -> ColumnElement[bool]:
        parts = [self.and_expr()]
        while self.accept("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def and_expr(self) -> ColumnElement[bool]:
        parts = [self.not_expr()]
        while self.accept("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def not_expr(self) -> ColumnElement[bool]:
        if self.accept("not"):
            return not_(self.not_expr())
        if self.accept("("):
            expr = self.or_expr()
            self.take("punct", ")")
            return expr
        return self.comparison()

    def comparison(self) -> ColumnElement[bool]:
        entity, key = _split_ident(self.take("ident").text, self.fail)
        tok = self.peek()
        if tok is None:
            raise self.fail(f"{entity}.{key} needs a comparison")
        if tok.kind == "keyword" and tok.text == "not":
            self.i += 1
            self.take("keyword", "in")
            return not_(self.membership(entity, key))
        if tok.kind == "keyword" and tok.text == "in":
            self.i += 1
            return self.membership(entity, key)
        if tok.kind == "keyword" and tok.text in ("like", "ilike"):
            self.i += 1
            return _compare(entity, key, tok.text, self.literal(), self.runs, self.fail)
        op = self.take("op").text
        return _compare(entity, key, op, self.literal(), self.runs, self.fail)

    def membership(self, entity: str, key: str) -> ColumnElement[bool]:
        self.take("punct", "(")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.take("punct", ")")
        return _compare(entity, key, "in", values, self.runs, self.fail)

    def literal(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.fail("a value is missing at the end")
        self.i += 1
        if tok.kind == "number":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "string":
            return re.sub(r"\\(.)", r"\1", tok.text[1:-1])
        raise self.fail(f"expected a number or a quoted string at character {tok.pos}")


def _split_ident(text: str, fail: Any) -> tuple[str, str]:
    if "." in text:
        head, key = text.split(".", 1)
        entity = _ENTITY.get(head.lower())
        if entity is None:
            raise fail(f"unknown entity {head!r} (use metrics., params., tags. or attributes.)")
    else:
        entity, key = "attribute", text
    key = key.strip("`")
    if entity == "attribute" and key not in ATTRIBUTES:
        raise fail(f"unknown run attribute {key!r} (known: {', '.join(sorted(ATTRIBUTES))})")
    return entity, key


_OPS = {
    "=": "__eq__",
    "==": "__eq__",
    "!=": "__ne__",
    "<>": "__ne__",
    "<": "__lt__",
    "<=": "__le__",
    ">": "__gt__",
    ">=": "__ge__",
}


def _apply(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "in":
        return column.in_(value)
    if op == "like":
        return column.like(value)
    if op == "ilike":
        return column.ilike(value)
    return getattr(column, _OPS[op])(value)


def _compare(
    entity: str, key: str, op: str, value: Any, runs: Table, fail: Any
) -> ColumnElement[bool]:
    values = value if isinstance(value, list) else [value]
    numeric = all(isinstance(v, int | float) for v in values)
    if entity == "metric":
        if not numeric or op in ("like", "ilike"):
            raise fail(f"metrics.{key} compares with numbers, e.g. metrics.{key} > 0.5")
        s = metric_summaries
        return exists(
            select(1).where(
                s.c.run_id == runs.c.run_id, s.c.key == key, _apply(s.c.latest, op, value)
            )
        )
    if entity in ("param", "tag"):
        if any(not isinstance(v, str) for v in values):
            raise fail(
                f"{entity}s are strings; quote the value, e.g. {entity}s.{key} = '{values[0]}'"
            )
        if op in ("<", "<=", ">", ">="):
            raise fail(f"{entity}s.{key} supports =, !=, like, ilike and in, not {op}")
        t = params if entity == "param" else tags
        return exists(
            select(1).where(
                t.c.run_id == runs.c.run_id, t.c.key == key, _apply(t.c.value, op, value)
            )
        )
    column = runs.c[ATTRIBUTES[key]]
    if key in ("start_time", "end_time"):
        if not numeric:
            raise fail(f"{key} is milliseconds since the epoch; compare with a number")
    elif not all(isinstance(v, str) for v in values):
        raise fail(f"{key} is a string; quote the value, e.g. {key} = '{values[0]}'")
    if key == "status" and op in ("=", "==", "in"):
        statuses = {"RUNNING", "FINISHED", "FAILED", "KILLED"}
        bad = [v for v in values if v.upper() not in statuses]
        if bad:
            raise fail(f"status {bad[0]!r} is not one of {', '.join(sorted(statuses))}")
        value = [v.upper() for v in values] if op == "in" else value.upper()
    return _apply(column, op, value)


def parse_filter(text: str | None, runs: Table) -> ColumnElement[bool] | None:
    """Parse a filter string; None or blank means no filter. Raises Invalid with the fix."""
    if text is None or not text.strip():
        return None
    if len(text) > 10_000:
        raise Invalid("filter is longer than 10,000 characters; simplify it", field="filter")
    expr = _Parser(text, runs).parse()
    return expr if expr is not None else false()


def order_item(item: str) -> tuple[str, str, str]:
    """`metrics.auc DESC` -> ("metric", "auc", "desc"); Invalid naming the item if bad."""
    words = item.strip().split()
    direction = "asc"
    if len(words) == 2 and words[1].lower() in ("asc", "desc"):
        direction = words[1].lower()
    elif len(words) != 1:
        raise Invalid(
            f"order_by {item!r} is malformed; use e.g. 'metrics.auc DESC' or 'start_time'",
            field="order_by",
        )

    def fail(message: str) -> Invalid:
        return Invalid(f"order_by {item!r}: {message}", field="order_by")

    entity, key = _split_ident(words[0], fail)
    return entity, key, direction


def parse_order_by(items: list[str] | tuple[str, ...] | None, runs: Table) -> list[Any]:
    """`metrics.auc DESC`, `params.model`, `start_time ASC` -> ORDER BY clauses (nulls last)."""
    clauses: list[Any] = []
    for item in items or []:
        entity, key, direction = order_item(item)
        if entity == "metric":
            s = metric_summaries
            col: Any = (
                select(s.c.latest)
                .where(s.c.run_id == runs.c.run_id, s.c.key == key)
                .scalar_subquery()
            )
        elif entity in ("param", "tag"):
            t = params if entity == "param" else tags
            col = (
                select(t.c.value)
                .where(t.c.run_id == runs.c.run_id, t.c.key == key)
                .scalar_subquery()
            )
        else:
            col = runs.c[ATTRIBUTES[key]]
        clauses.append((col.desc() if direction == "desc" else col.asc()).nulls_last())
    return clauses
