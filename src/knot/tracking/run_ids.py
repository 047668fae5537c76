"""Run ids as people type them: the full 32-hex id or a unique prefix of it (the CLI's
tables print 8 characters). Both stores answer `run_ids_starting(prefix)`; the choice
of one id, and the errors when there is none or more than one, are made here once."""

from __future__ import annotations

import re
from collections.abc import Callable

from knot.errors import Invalid, NotFound

__all__ = ["MAX_LISTED", "check_prefix", "pick_run_id"]

#: how many matches an ambiguous prefix lists (the store is asked for one more)
MAX_LISTED = 10
_HEX = re.compile(r"[0-9a-f]{1,32}")


def check_prefix(text: str) -> str:
    """`text` lower-cased when it can start a run id (1-32 hex digits), else Invalid."""
    prefix = text.strip().lower()
    if not _HEX.fullmatch(prefix):
        raise Invalid(
            f"run id {text!r} is not a run id or a prefix of one (hex digits 0-9a-f, at "
            "most 32); `knot runs list` shows run ids",
            field="run_id",
        )
    return prefix


def pick_run_id(text: str, starting: Callable[[str, int], list[str]]) -> str:
    """The one run id `text` names; `starting(prefix, limit)` lists ids with that prefix.
    NotFound when none does, Invalid listing the matches when several do."""
    prefix = check_prefix(text)
    if len(prefix) == 32:  # a whole id: the read that follows says if it exists
        return prefix
    found = starting(prefix, MAX_LISTED + 1)
    if prefix in found:
        return prefix
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFound(
            f"no run id starts with {text!r}; `knot runs list` shows run ids", field="run_id"
        )
    more = " and more" if len(found) > MAX_LISTED else ""
    listed = ", ".join(found[:MAX_LISTED])
    raise Invalid(
        f"run id prefix {text!r} matches several runs: {listed}{more}; give more characters",
        field="run_id",
    )
