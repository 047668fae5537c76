"""The one path validator (knot.paths): every path it accepts stays inside its base
folder, and every kind of escape is refused with the value and the rule named."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from knot.errors import Invalid
from knot.paths import check_relative_path, join_inside, path_problem

# the pieces escapes are made of, plus ordinary names, so refusals and acceptances
# are both found often
_PIECES = st.sampled_from(
    ["a", "b.txt", "..", ".", "", "/", "//", "\\", "\x00", "\n", "C:", "~", "...", " ", "é"]
)
_PATHS = st.lists(_PIECES, min_size=0, max_size=8).map("".join) | st.text(max_size=30)
# never created: resolving is lexical below it, and nothing is left behind
_BASE = Path(tempfile.gettempdir()) / "knot-paths-never-created"


@settings(max_examples=2000, deadline=None)
@given(path=_PATHS)
@example(path="a/../../x")
@example(path="a/..")
@example(path="..")
@example(path="/etc/passwd")
def test_every_accepted_path_resolves_inside_its_base(path: str) -> None:
    base = _BASE / "base"
    if path_problem(path) is not None:
        with pytest.raises(Invalid):
            check_relative_path(path, "artifact path")
        return
    target = join_inside(base, path, "artifact path")
    assert target.resolve().is_relative_to(base.resolve())
    assert target.resolve() != base.resolve()  # it names something inside, not the base
    assert os.path.normpath(path).split("/")[0] != ".."
    assert "\x00" not in path and "\\" not in path


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a/../../x", "climbs out with '..'"),
        ("..", "climbs out with '..'"),
        ("/etc/passwd", "is absolute"),
        ("a\x00b", "NUL"),
        ("a\\..\\b", "backslash"),
        ("a//b", "empty part"),
        ("a/", "empty part"),
        ("./a", "'.' part"),
        ("C:/Windows", "drive letter"),
        ("", "is empty"),
        (None, "is not text"),
    ],
)
def test_each_escape_is_refused_naming_value_field_and_rule(value: object, problem: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_relative_path(value, "artifact path", field="path")
    message = caught.value.message
    assert message.startswith(f"artifact path {value!r} ") and problem in message
    assert "use a relative path" in message and caught.value.field == "path"


def test_ordinary_paths_pass_unchanged() -> None:
    for ok in ("model", "model/weights.bin", "telco/churn", "a b/c-d_e.f", "..hidden", "x..y"):
        assert check_relative_path(ok, "artifact path") == ok


def test_a_symlink_inside_the_base_cannot_carry_a_path_out(tmp_path: Path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "link").symlink_to(outside)
    with pytest.raises(Invalid, match=r"outside .* through a symlink"):
        join_inside(base, "link/file", "artifact path")
    assert join_inside(base, "real/file", "artifact path") == base / "real" / "file"
