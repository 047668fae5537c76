"""knot.tracking.validate.check_keys remembers keys that passed, so a training loop that
logs the same keys again pays for the checks once; what it refuses, it refuses every time."""

from __future__ import annotations

import pytest

from knot.errors import Invalid
from knot.tracking import validate


class _Sneaky(str):
    """A str whose equality a caller controls: never taken from the memory of keys."""

    def __hash__(self) -> int:
        return hash("loss")

    def __eq__(self, other: object) -> bool:
        return True


@pytest.mark.parametrize("bad", ["", "  ", "a" * 251, "/root", "a/../b", "semi;colon", "tab\tkey"])
def test_a_refused_key_is_refused_each_time_after_a_good_one(bad: str) -> None:
    validate.check_keys(["loss", "val/acc"], "metric")
    for _ in range(2):
        with pytest.raises(Invalid):
            validate.check_keys(["loss", bad], "metric")
    assert bad not in validate._known


def test_a_key_that_passed_is_remembered_and_memory_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validate, "_known", set())
    monkeypatch.setattr(validate, "_KNOWN_LIMIT", 3)
    validate.check_keys(["a", "b", "c"], "param")
    assert validate._known == {"a", "b", "c"}
    validate.check_keys(["d"], "param")  # full: forgotten, then d remembered
    assert validate._known == {"d"}
    validate.check_keys(["a"], "param")  # still valid after being forgotten
    assert validate._known == {"d", "a"}


def test_a_str_subclass_is_checked_not_looked_up() -> None:
    validate.check_keys(["loss"], "metric")
    with pytest.raises(Invalid, match="characters"):
        validate.check_keys([_Sneaky("bad;key")], "metric")
    with pytest.raises(Invalid, match="empty"):
        validate.check_keys([None], "tag")  # type: ignore[list-item]
