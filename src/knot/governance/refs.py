"""What a lineage reference names: `models:/churn/3`, `models:/churn@champion`,
`run:<id>` or a bare run id, `dataset:churn@3`, or any `kind:id`.

An alias belongs to the model registry, which sits above governance; the caller hands
`resolve_ref` the registry's AliasResolver (knot.backends gives it to SqlGovernance),
so this layer never imports the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from knot.errors import Invalid

__all__ = ["AliasResolver", "NodeRef", "parse_ref", "resolve_ref"]

#: (connection, model name, alias) -> the version number the alias points at; raises
#: knot.errors.NotFound naming the aliases that do exist.
AliasResolver = Callable[[Connection, str, str], int]

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
FORMS = (
    "models:/NAME/VERSION, models:/NAME@ALIAS, run:RUN_ID (or a bare 32-hex run id), "
    "dataset:NAME@VERSION, or KIND:ID (e.g. model_version:churn/3)"
)


@dataclass(frozen=True)
class NodeRef:
    """A node of the lineage graph, or (alias set) a model alias still to resolve."""

    kind: str
    id: str
    alias: str | None = None


def _bad(ref: str, why: str) -> Invalid:
    return Invalid(f"lineage reference {ref!r} {why}; use {FORMS}", field="ref")


def _model_ref(ref: str) -> NodeRef:
    body = ref[len("models:/") :]
    name, slash, version = body.rpartition("/")
    if slash and name and "@" not in version:
        if not version.isdigit() or int(version) < 1:
            raise _bad(ref, f"has version {version!r}, which is not a positive integer")
        return NodeRef("model_version", f"{name}/{int(version)}")
    name, at, alias = body.rpartition("@")
    if at and name and alias:
        return NodeRef("model_version", name, alias=alias)
    raise _bad(ref, "names a model but no version or alias")


def parse_ref(ref: str) -> NodeRef:
    """Parse a reference without touching the store; malformed ones say the forms."""
    ref = ref.strip()
    if not ref:
        raise _bad(ref, "is empty")
    if ref.startswith("models:/"):
        return _model_ref(ref)
    if ref.startswith("models:"):
        raise _bad(ref, "lacks the slash after models:")
    kind, colon, node_id = ref.partition(":")
    if not colon:
        if _RUN_ID.match(ref):
            return NodeRef("run", ref)
        raise _bad(ref, "has no kind and is not a run id")
    if not _KIND.match(kind):
        raise _bad(ref, f"has kind {kind!r}; kinds are lowercase words like run or dataset")
    if not node_id:
        raise _bad(ref, "has no id after the kind")
    return NodeRef(kind, node_id)


def resolve_ref(conn: Connection, ref: str, resolve_alias: AliasResolver | None) -> NodeRef:
    """The node a reference names, with a model alias looked up by `resolve_alias` (the
    registry's; None where there is no registry, and then an alias is refused)."""
    node = parse_ref(ref)
    if node.alias is None:
        return node
    if resolve_alias is None:
        raise Invalid(
            "model aliases need the model registry, which this Knot lacks; name the "
            "version instead: models:/NAME/VERSION",
            field="ref",
        )
    version = resolve_alias(conn, node.id, node.alias)
    return NodeRef("model_version", f"{node.id}/{version}")
