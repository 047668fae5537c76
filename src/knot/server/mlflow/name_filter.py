"""The filters MLflow's experiment, registered model and model version searches take,
as far as Knot supports them: `name` (and `run_id` for versions) compared with =, !=,
LIKE or ILIKE, joined with AND; `tags.KEY` conditions see no tags. Anything else is
INVALID_PARAMETER_VALUE naming it."""

from __future__ import annotations

import re

from knot.errors import Invalid

__all__ = ["name_matches", "offset_of"]

_CONDITION = re.compile(
    r"""^\s*(?:attributes?\.)?(\w+|tags?\.(?:`[^`]+`|[\w.\-]+))\s*(=|!=|like|ilike)\s*"""
    r"""(?:'((?:[^']|'')*)'|"([^"]*)")\s*$""",
    re.IGNORECASE,
)


def name_matches(
    name: str, filter_text: str, what: str, fields: dict[str, str] | None = None
) -> bool:
    """Whether `name` (and the other `fields`, such as run_id) pass the filter."""
    values = {"name": name, **(fields or {})}
    for part in re.split(r"\s+and\s+", filter_text.strip(), flags=re.IGNORECASE):
        match = _CONDITION.match(part)
        if match is not None and match.group(1).lower().startswith("tag"):
            # Knot models and experiments carry no tags: only "tag != value" can hold
            # (MLflow's client adds tags.`mlflow.prompt.is_prompt` != 'true' itself)
            if match.group(2) != "!=":
                return False
            continue
        if match is None or match.group(1) not in values:
            known = " or ".join(sorted(values))
            raise Invalid(
                f"{what} filter {part!r} is not supported; Knot filters {what}s by {known} "
                "with =, !=, LIKE or ILIKE and a quoted value, joined with AND "
                "(e.g. name LIKE 'churn%')",
                field="filter",
            )
        field, op, quoted, double = match.groups()
        value = quoted.replace("''", "'") if quoted is not None else double
        actual, op = values[field], op.lower()
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
        if op in ("like", "ilike"):
            pattern = "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$"
            flags = re.IGNORECASE | re.DOTALL if op == "ilike" else re.DOTALL
            if re.match(pattern, actual, flags) is None:
                return False
    return True


def offset_of(token: str | None) -> int:
    """The position a page token this server gave stands for."""
    if not token:
        return 0
    if not token.isdigit():
        raise Invalid(f"page_token {token!r} is not one this server gave", field="page_token")
    return int(token)
