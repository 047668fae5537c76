"""The lineage node a reference names, with a model alias (or the latest version) looked
up in the registry. The grammar is knot.refs.parse_node_ref.

An alias belongs to the model registry, which sits above governance; the caller hands
`resolve_ref` the registry's AliasResolver (knot.backends gives it to SqlGovernance),
so this layer never imports the registry.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from knot.errors import Invalid
from knot.refs import NodeRef, parse_node_ref

__all__ = ["AliasResolver", "NodeRef", "resolve_ref"]

#: (connection, model name, alias) -> the version number the alias points at, for
#: knot.refs.LATEST the newest ready one; raises knot.errors.NotFound naming the aliases
#: that do exist.
AliasResolver = Callable[[Connection, str, str], int]


def resolve_ref(conn: Connection, ref: str, resolve_alias: AliasResolver | None) -> NodeRef:
    """The node a reference names, with a model alias looked up by `resolve_alias` (the
    registry's; None where there is no registry, and then an alias is refused)."""
    node = parse_node_ref(ref)
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
