"""Model URIs and the names inside them.

models:/churn@champion    the version an alias points at
models:/churn/3           version 3
models:/churn             the latest ready version (also models:/churn/latest)
runs:/<run id>/model      a model logged on a run, registered or not (load_model only)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knot.errors import Invalid

__all__ = [
    "ACCEPTED_FORMS",
    "ALIAS_PATTERN",
    "MAX_VERSION",
    "MODEL_NAME_PATTERN",
    "RUN_ID_PATTERN",
    "ModelRef",
    "RunRef",
    "check_alias",
    "check_model_name",
    "check_version",
    "parse_model_uri",
    "parse_run_uri",
]

ACCEPTED_FORMS = "models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME (latest)"
# the rules as patterns too: the REST API's OpenAPI document states them
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$"
ALIAS_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
RUN_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_VERSION = 2**31  # versions are 1 ... MAX_VERSION - 1
_NAME = re.compile(MODEL_NAME_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)
_RUN_ID = re.compile(RUN_ID_PATTERN)


@dataclass(frozen=True)
class ModelRef:
    """A parsed models:/ URI: exactly one of `version` or `alias`, or neither (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        if self.version is not None:
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}"


@dataclass(frozen=True)
class RunRef:
    run_id: str
    artifact_path: str


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid(
            f"model name {name!r} is not allowed; use 1-256 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'churn')",
            field="name",
        )
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == "latest":
        raise Invalid(
            f"alias {alias!r} is not allowed; use up to 64 letters, digits, '_' or '-', "
            "starting with a letter (e.g. 'champion'); 'latest' is reserved for the newest "
            "version",
            field="alias",
        )
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < MAX_VERSION:
        raise Invalid(
            f"model version {version!r} is not a version number; versions are 1, 2, 3, ... "
            f"(below {MAX_VERSION})",
            field="version",
        )
    return version


def parse_model_uri(uri: str) -> ModelRef:
    """Parse a models:/ URI; anything else is Invalid, naming the accepted forms."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise Invalid(f"model URI {uri!r} is malformed; use {ACCEPTED_FORMS}", field="uri")
    rest = uri[len("models:/") :]
    try:
        if "@" in rest:
            name, alias = rest.split("@", 1)
            return ModelRef(check_model_name(name), alias=check_alias(alias))
        if "/" in rest:
            name, version = rest.split("/", 1)
            if version == "latest":
                return ModelRef(check_model_name(name))
            if not version.isdigit():
                raise Invalid(f"version {version!r} is not a number", field="uri")
            return ModelRef(check_model_name(name), version=check_version(int(version)))
        return ModelRef(check_model_name(rest))
    except Invalid as exc:
        raise Invalid(
            f"model URI {uri!r} is malformed ({exc.message}); use {ACCEPTED_FORMS}", field="uri"
        ) from None


def parse_run_uri(uri: str) -> RunRef:
    """Parse runs:/<run id>/<artifact path>."""
    rest = uri[len("runs:/") :] if uri.startswith("runs:/") else ""
    run_id, _, path = rest.partition("/")
    if not _RUN_ID.match(run_id) or not path or path.startswith("/") or ".." in path.split("/"):
        raise Invalid(
            f"run model URI {uri!r} is malformed; use runs:/RUN_ID/ARTIFACT_PATH "
            "(e.g. runs:/0123abcd.../model), or a registered model: " + ACCEPTED_FORMS,
            field="uri",
        )
    return RunRef(run_id, path)
