"""Entity keys as the online stores hold them: text, the parts of a composite key joined.
Materialization builds the same text in SQL (CAST(... AS VARCHAR) joined by SEP)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SEP", "entity_key"]

SEP = "\x1f"  # joins the parts of a composite entity key


def entity_key(values: Sequence[object]) -> str:
    """The online key of an entity: its key values as text, joined. Integral floats are
    written as integers, so 7, 7.0 and '7' name the same user (as SQL's text of 7)."""
    if len(values) == 1 and type(values[0]) in (int, str):
        return str(values[0])  # the common case, on the serving hot path
    parts = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        parts.append(str(v))
    return SEP.join(parts)
