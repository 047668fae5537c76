"""Dataset references: `churn@3` (a version), `churn@prod` (an alias), `churn` (the
newest accepted version, the same as `churn@latest`), and the names inside them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knot.errors import Invalid
from knot.paths import path_problem

__all__ = ["LATEST", "DatasetRef", "check_alias", "check_dataset_name", "parse_ref"]

LATEST = "latest"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class DatasetRef:
    """A parsed reference: exactly one of `version` and `alias` is set."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else self.alias}"


def check_dataset_name(name: object) -> str:
    # a name becomes a file path when its dataset is packed: 'a/../../x' is refused
    if not isinstance(name, str) or not _NAME.fullmatch(name) or path_problem(name):
        raise Invalid(
            f"dataset name {name!r} is not allowed; use up to 128 letters, digits and _ - . /, "
            "starting with a letter or digit, with no '.', '..' or empty parts between the "
            "'/' (e.g. 'churn' or 'telco/churn')",
            field="name",
        )
    return name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise Invalid(
            f"alias {alias!r} is not allowed; use up to 64 letters, digits and _ - ., "
            "starting with a letter (e.g. 'prod' or 'golden')",
            field="alias",
        )
    if alias == LATEST:
        raise Invalid(
            "alias 'latest' is kept by Knot for the newest accepted version; pick another name",
            field="alias",
        )
    return alias


def parse_ref(ref: object) -> DatasetRef:
    """Parse `name`, `name@N` or `name@alias`; raise Invalid naming the bad part."""
    if not isinstance(ref, str) or not ref:
        raise Invalid(
            f"dataset reference {ref!r} is empty or not text; use 'name', 'name@3' or 'name@alias'",
            field="ref",
        )
    name, at, selector = ref.partition("@")
    check_dataset_name(name)
    if not at:
        return DatasetRef(name, alias=LATEST)
    if selector.isdigit():
        version = int(selector)
        if version < 1:
            raise Invalid(f"dataset version in {ref!r} must be 1 or more", field="ref")
        return DatasetRef(name, version=version)
    if selector == LATEST:
        return DatasetRef(name, alias=LATEST)
    if not selector or not _ALIAS.fullmatch(selector):
        raise Invalid(
            f"dataset reference {ref!r} has selector {selector!r}; after '@' put a version "
            "number (churn@3), 'latest' or an alias (churn@prod)",
            field="ref",
        )
    return DatasetRef(name, alias=selector)
