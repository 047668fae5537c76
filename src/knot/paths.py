"""Names and relative paths that become files: one check shared by the SDK, the server
and packaging, so a dataset name, an artifact path or a folder-manifest entry can never
name a file outside the folder it is written into.

A safe relative path is '/'-separated names, each non-empty and neither '.' nor '..',
with no leading '/', no drive letter, no backslash and no control character (NUL
included). Symlinks already inside the target folder are handled by `join_inside`.
"""

from __future__ import annotations

from pathlib import Path

from knot.errors import Invalid

__all__ = ["RULE", "check_relative_path", "join_inside", "path_problem"]

RULE = (
    "use a relative path of '/'-separated names (e.g. 'model/weights.bin'): no leading '/', "
    "no '..' or '.' parts, no empty parts ('//' or a trailing '/'), no backslash, NUL or "
    "other control character"
)


def path_problem(value: object) -> str | None:
    """Why `value` is not a safe relative path, or None when it is one."""
    if not isinstance(value, str):
        return f"is not text ({type(value).__name__})"
    if not value:
        return "is empty"
    if value.startswith("/"):
        return "is absolute"
    if "\\" in value:
        return "contains a backslash"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains NUL or another control character"
    if len(value) > 1 and value[1] == ":" and value[0].isalpha():
        # 'C:x' is a drive-relative path where the file may be unpacked on Windows
        return "starts with a drive letter"
    parts = value.split("/")
    if ".." in parts:
        return "climbs out with '..'"
    if "." in parts:
        return "has a '.' part"
    if "" in parts:
        return "has an empty part"
    return None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def check_relative_path(value: object, what: str, *, field: str = "path") -> str:
    """Return `value` if it is a safe relative path, else raise Invalid naming `what`,
    the value and the rule."""
    problem = path_problem(value)
    if problem is not None:
        raise Invalid(f"{what} {_shown(value)} {problem}; {RULE}", field=field)
    assert isinstance(value, str)
    return value


def join_inside(base: Path, relative: str, what: str, *, field: str = "path") -> Path:
    """`base / relative` after checking `relative`, refusing it also when a symlink
    already under `base` would carry it elsewhere."""
    target = base / check_relative_path(relative, what, field=field)
    real_base = base.resolve()
    if not target.resolve().is_relative_to(real_base):
        raise Invalid(
            f"{what} {_shown(relative)} would be written outside {base} through a symlink "
            "there; use an empty folder",
            field=field,
        )
    return target
