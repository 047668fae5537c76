"""MLflow's run search filters and orderings, rewritten into Knot's run search grammar
(knot.tracking.filters), which is close: comparisons on metrics., params., tags. and
attributes joined with and/or, LIKE/ILIKE and IN.

Rewritten: `entity."key"` quoting (Knot quotes keys with backticks), the attribute names
`created` and `Created` (start_time) and `user_id` (user), and the run view type
(deleted runs carry wire.DELETED_TAG). Refused with INVALID_PARAMETER_VALUE, naming the
form: `IS NULL` / `IS NOT NULL`, `datasets.*`, and the attributes `artifact_uri` and
`lifecycle_stage` (use run_view_type for the latter)."""

from __future__ import annotations

import re

from knot.errors import Invalid
from knot.server.mlflow.wire import DELETED_TAG
from knot.tracking.filters import parse_filter
from knot.tracking.tables import runs

__all__ = ["knot_filter", "knot_order_by"]

_PIECE = re.compile(
    r"""
      (?P<qident>(?P<qentity>[A-Za-z_]+)\."(?P<qkey>[^"]+)")
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<ident>(?:(?P<entity>[A-Za-z_]+)\.)?(?P<key>`[^`]+`|[A-Za-z_][\w\-/:.]*))
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ATTRIBUTE_ENTITIES = {"attribute", "attributes", "attr", "run"}
_RENAMED = {"created": "start_time", "Created": "start_time", "user_id": "user"}
_REFUSED_ATTRIBUTES = {
    "artifact_uri": "runs are not searched by artifact_uri",
    "lifecycle_stage": "use run_view_type (ACTIVE_ONLY, DELETED_ONLY, ALL) to pick deleted runs",
}
_VIEWS = {
    "ACTIVE_ONLY": f"not tags.`{DELETED_TAG}` = 'true'",
    "1": f"not tags.`{DELETED_TAG}` = 'true'",
    "DELETED_ONLY": f"tags.`{DELETED_TAG}` = 'true'",
    "2": f"tags.`{DELETED_TAG}` = 'true'",
    "ALL": "",
    "3": "",
}


def _refuse(text: str, what: str, field: str = "filter") -> Invalid:
    return Invalid(
        f"search {field} {text!r}: {what} is not supported by Knot's MLflow API; compare "
        "metrics., params., tags. or attributes (run_id, run_name, status, start_time, "
        "end_time, user_id) with =, !=, <, <=, >, >=, LIKE, ILIKE or IN",
        field=field,
    )


def _rewrite(text: str, field: str) -> str:
    out: list[str] = []
    for match in _PIECE.finditer(text):
        if match.group("qident"):
            entity, key = match.group("qentity"), match.group("qkey")
            out.append(_identifier(text, entity, f"`{key}`", field))
        elif match.group("ident"):
            entity, key = match.group("entity"), match.group("key")
            if entity is None and key.lower() == "is":
                raise _refuse(text, "IS NULL / IS NOT NULL", field)
            if entity is None and key.lower() in ("and", "or", "not", "in", "like", "ilike"):
                out.append(key)
            else:
                out.append(_identifier(text, entity, key, field))
        else:
            out.append(match.group(0))
    return "".join(out)


def _identifier(text: str, entity: str | None, key: str, field: str) -> str:
    if entity is not None and entity.lower() in ("dataset", "datasets"):
        raise _refuse(text, "searching by datasets", field)
    if entity is None or entity.lower() in _ATTRIBUTE_ENTITIES:
        bare = key.strip("`")
        if bare in _REFUSED_ATTRIBUTES:
            raise _refuse(text, f"attribute {bare!r} ({_REFUSED_ATTRIBUTES[bare]})", field)
        key = _RENAMED.get(bare, key)
        return key if entity is None else f"attributes.{key}"
    return f"{entity}.{key}"


def knot_filter(text: str | None, view_type: str | None) -> str | None:
    """The Knot filter for an MLflow filter and run view type."""
    view = (view_type or "ACTIVE_ONLY").upper()
    if view not in _VIEWS:
        raise Invalid(
            f"run_view_type {view_type!r} is not ACTIVE_ONLY, DELETED_ONLY or ALL",
            field="run_view_type",
        )
    parts = []
    if text and text.strip():
        rewritten = _rewrite(text, "filter")
        parse_filter(rewritten, runs)  # its errors quote the caller's filter, not ours
        parts.append(f"({rewritten})")
    if _VIEWS[view]:
        parts.append(_VIEWS[view])
    return " and ".join(parts) or None


def knot_order_by(items: list[str]) -> list[str]:
    """MLflow order_by clauses ("metrics.`auc` DESC", 'params."lr"') in Knot's spelling."""
    return [_rewrite(item, "order_by") for item in items]
