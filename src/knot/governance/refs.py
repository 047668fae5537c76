"""The lineage node a reference names, with a model alias (or the latest version) looked
up in the registry. The grammar is knot.refs.parse_node_ref.

An alias belongs to the model registry, which sits above governance; it is looked up
through ALIAS_RESOLVER, a "module:function" imported on first use (as store URIs
pick their backend), so this layer never imports the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlalchemy import Connection

from knot.errors import Invalid
from knot.refs import NodeRef, parse_node_ref

__all__ = ["ALIAS_RESOLVER", "AliasResolver", "resolve_ref"]

#: (connection, model name, alias) -> the version number the alias points at, for
#: knot.refs.LATEST the newest ready one; raises knot.errors.NotFound naming the aliases
#: that do exist.
AliasResolver = Callable[[Connection, str, str], int]

#: The registry's resolver, "module:function" (see AliasResolver).
ALIAS_RESOLVER = "knot.registry.aliases:resolve_alias"


def _resolver() -> AliasResolver:
    module, _, name = ALIAS_RESOLVER.partition(":")
    try:
        found: AliasResolver = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise Invalid(
            "model aliases need the model registry, which this Knot lacks; name the "
            "version instead: models:/NAME/VERSION",
            field="ref",
        ) from None
    return found


def resolve_ref(conn: Connection, ref: str) -> NodeRef:
    """The node a reference names, with a model alias looked up in the registry."""
    node = parse_node_ref(ref)
    if node.alias is None:
        return node
    version = _resolver()(conn, node.id, node.alias)
    return NodeRef("model_version", f"{node.id}/{version}")
