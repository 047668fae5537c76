"""One grammar for every reference Knot reads, and one set of rules for the names in them.

    models:/NAME/VERSION  models:/NAME@ALIAS  models:/NAME       a registered model version
    NAME@VERSION          NAME@ALIAS          NAME               a dataset version
    NAME[:TAG]  REGISTRY/REPO[:TAG][@sha256:HEX]  (oci:// first)  a ModelKit
    runs:/RUN_ID/PATH                                            a model logged on a run
    models:/..., [run:]RUN_ID, [dataset:]NAME@VERSION, KIND:ID                  a lineage node

A bare NAME, `@latest` or `/latest` means the newest usable version. A name is parts of
letters, digits, '.', '_' and '-' starting with a letter or digit: one part for a model
(a REST path segment), parts joined by '/' for a dataset (a file path once packed).
Parsers touch no store and raise Invalid naming the string and the accepted forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from knot.errors import Invalid
from knot.paths import path_problem

__all__ = [
    "ALIAS_PATTERN",
    "DATASET_FORMS",
    "KIT_FORMS",
    "LATEST",
    "MAX_VERSION",
    "MODEL_FORMS",
    "MODEL_NAME_PATTERN",
    "NODE_FORMS",
    "RUN_ARTIFACT_FORMS",
    "RUN_ID_PATTERN",
    "DatasetRef",
    "KitRef",
    "ModelRef",
    "NodeRef",
    "RunArtifactRef",
    "check_alias",
    "check_dataset_name",
    "check_model_name",
    "check_version",
    "parse_dataset_ref",
    "parse_kit_ref",
    "parse_model_ref",
    "parse_node_ref",
    "parse_run_artifact_ref",
]

LATEST = "latest"  # the selector of the newest usable version; never a stored alias
MAX_VERSION = 2**31  # versions are 1 ... MAX_VERSION - 1 (what the database holds)

# The rules as patterns too: the REST API's OpenAPI document states them.
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$"
DATASET_NAME_PATTERN = rf"^(?=.{{1,128}}$){_PART}(?:/{_PART})*$"
ALIAS_PATTERN = r"^[A-Za-z][A-Za-z0-9._-]{0,63}$"
RUN_ID_PATTERN = r"^[0-9a-f]{32}$"

MODEL_FORMS = "models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME (the latest version)"
DATASET_FORMS = "NAME@VERSION (churn@3), NAME@ALIAS (churn@prod) or NAME (the latest version)"
KIT_FORMS = (
    "NAME[:TAG] for the local store (e.g. churn:3), or REGISTRY/REPO[:TAG][@sha256:DIGEST] "
    "for a registry (e.g. 127.0.0.1:5000/team/churn:3, optionally prefixed oci://)"
)
RUN_ARTIFACT_FORMS = "runs:/RUN_ID/ARTIFACT_PATH (e.g. runs:/0123abcd.../model)"
NODE_FORMS = "models:/NAME/VERSION or @ALIAS, [run:]RUN_ID, [dataset:]NAME@VERSION, KIND:ID"

_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)
_DATASET_NAME = re.compile(DATASET_NAME_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)
_RUN_ID = re.compile(RUN_ID_PATTERN)
_R = TypeVar("_R")
_NUMBER = re.compile(r"^[0-9]+$")  # str.isdigit() also takes '³', which int() refuses
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_REPO_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # the OCI distribution grammar
_REPO = re.compile(rf"^{_REPO_PART}(?:/{_REPO_PART})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$")


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise Invalid(
            f"model name {name!r} is not allowed; use 1-256 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'churn')",
            field="name",
        )
    return name


def check_dataset_name(name: object) -> str:
    # path_problem too: the rule packing applies to the same name, so they never drift
    if not isinstance(name, str) or not _DATASET_NAME.match(name) or path_problem(name):
        raise Invalid(
            f"dataset name {name!r} is not allowed; use up to 128 letters, digits, '.', '_' "
            "or '-' in parts joined by '/', each part starting with a letter or digit "
            "(e.g. 'churn' or 'telco/churn')",
            field="name",
        )
    return name


def check_alias(alias: object) -> str:
    """An alias that may be stored: not 'latest', which always means the newest version."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise Invalid(
            f"alias {alias!r} is not allowed; use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter (e.g. 'champion' or 'prod')",
            field="alias",
        )
    if alias == LATEST:
        raise Invalid(
            "alias 'latest' is kept by Knot for the newest version; pick another name",
            field="alias",
        )
    return alias


def check_version(version: object, what: str = "model") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < MAX_VERSION:
        raise Invalid(
            f"{what} version {version!r} is not a version number; versions are 1, 2, 3, ... "
            f"(below {MAX_VERSION})",
            field="version",
        )
    return version


def _parsed(parse: Callable[[object], _R], text: object, what: str, forms: str, field: str) -> _R:
    """`parse(text)`, its Invalid reworded to name `text` and the accepted `forms`."""
    try:
        return parse(text)
    except Invalid as exc:
        raise Invalid(
            f"{what} {text!r} is malformed ({exc.message}); use {forms}", field=field
        ) from None


def _version_text(text: str, what: str) -> int:
    if not _NUMBER.match(text):
        raise Invalid(f"{what} version {text!r} is not a number", field="version")
    return check_version(int(text), what)


@dataclass(frozen=True)
class _Selected:
    """A name with exactly one of `version` and `alias`; neither given means the latest
    version (alias LATEST). The fields are checked when one is made."""

    name: str
    version: int | None = None
    alias: str | None = None

    _kind: ClassVar[str]  # "model" or "dataset": whose name rule applies

    def __post_init__(self) -> None:
        what = self._kind
        (check_model_name if what == "model" else check_dataset_name)(self.name)
        if self.version is not None and self.alias is not None:
            raise Invalid(
                f"{what} {self.name!r}: give a version or an alias, not both", field="alias"
            )
        if self.version is not None:
            check_version(self.version, what)
        elif self.alias is None:
            object.__setattr__(self, "alias", LATEST)
        elif self.alias != LATEST:
            check_alias(self.alias)

    @property
    def is_latest(self) -> bool:
        return self.alias == LATEST


# models ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRef(_Selected):
    """A registered model version by number, by alias, or the latest ready one."""

    _kind = "model"

    @property
    def followed_alias(self) -> str | None:
        """The alias a service follows as it moves (None for a number or the latest)."""
        return None if self.is_latest else self.alias

    def __str__(self) -> str:
        if self.version is not None:
            return f"models:/{self.name}/{self.version}"
        if self.is_latest:
            return f"models:/{self.name}"
        return f"models:/{self.name}@{self.alias}"


def _model_ref(text: object) -> ModelRef:
    """The ModelRef `text` names; Invalid says only what is wrong (the callers add the
    string and the forms)."""
    if not isinstance(text, str):
        raise Invalid(f"it is {type(text).__name__}, not text")
    uri = text.strip()
    if not uri.startswith("models:/"):
        raise Invalid(
            "it lacks the slash after models:"
            if uri.startswith("models:")
            else "it does not start with models:/"
        )
    rest = uri[len("models:/") :]
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return ModelRef(name, alias=alias)
    if "/" in rest:
        name, version = rest.rsplit("/", 1)
        if version == LATEST:
            return ModelRef(name)
        return ModelRef(check_model_name(name), version=_version_text(version, "model"))
    return ModelRef(rest)


def parse_model_ref(text: object, *, field: str = "uri") -> ModelRef:
    """Parse a models:/ reference; anything else is Invalid naming it and the forms."""
    return _parsed(_model_ref, text, "model URI", MODEL_FORMS, field)


# datasets ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetRef(_Selected):
    """A dataset version by number, by alias, or the latest accepted one."""

    _kind = "dataset"

    def __str__(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else self.alias}"


def _dataset_ref(text: object) -> DatasetRef:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("it is empty" if isinstance(text, str) else f"it is {type(text).__name__}")
    name, at, selector = text.strip().partition("@")
    if not at:
        return DatasetRef(name)
    if _NUMBER.match(selector):
        return DatasetRef(name, version=_version_text(selector, "dataset"))
    return DatasetRef(name, alias=selector)


def parse_dataset_ref(text: object, *, field: str = "ref") -> DatasetRef:
    """Parse `name`, `name@N` or `name@alias`; Invalid names the string and the forms."""
    return _parsed(_dataset_ref, text, "dataset reference", DATASET_FORMS, field)


# ModelKits ---------------------------------------------------------------------------
@dataclass(frozen=True)
class KitRef:
    """A ModelKit; `registry` is None for the local kit store."""

    repository: str
    tag: str | None = None
    digest: str | None = None
    registry: str | None = None

    @property
    def name(self) -> str:
        """The repository with its registry: what the local store tags a pulled kit with."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def target(self) -> str:
        """What the manifest is fetched by: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> KitRef:
        return KitRef(self.repository, tag, None, self.registry)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _kit_ref(text: object) -> KitRef:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("it is empty" if isinstance(text, str) else f"it is {type(text).__name__}")
    rest = text.strip().removeprefix("oci://")
    digest = None
    if "@" in rest:
        rest, digest = rest.rsplit("@", 1)
        if not _DIGEST.match(digest):
            raise Invalid(f"digest {digest!r} is not sha256: and 64 hex digits")
    registry = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _HOST.match(first):
            raise Invalid(f"registry {first!r} is not a host[:port]")
        registry, rest = first, remainder
    tag = None
    repository = rest
    if ":" in rest.rsplit("/", 1)[-1]:
        repository, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise Invalid(f"tag {tag!r} must be 1-128 letters, digits, '.', '_' or '-'")
    if not _REPO.match(repository):
        raise Invalid(
            f"repository {repository!r} must be lowercase letters, digits and separators "
            "('.', '_', '-', '/')"
        )
    return KitRef(repository, tag, digest, registry)


def parse_kit_ref(text: object, *, field: str = "ref") -> KitRef:
    """Parse a ModelKit reference; Invalid names the string and the accepted forms."""
    return _parsed(_kit_ref, text, "ModelKit reference", KIT_FORMS, field)


# models logged on runs ---------------------------------------------------------------
@dataclass(frozen=True)
class RunArtifactRef:
    """An artifact of a run, registered or not: runs:/RUN_ID/PATH."""

    run_id: str
    path: str

    def __str__(self) -> str:
        return f"runs:/{self.run_id}/{self.path}"


def _run_artifact_ref(text: object) -> RunArtifactRef:
    uri = text.strip() if isinstance(text, str) else ""
    run_id, _, path = uri.removeprefix("runs:/").partition("/")
    if not uri.startswith("runs:/"):
        raise Invalid("it does not start with runs:/")
    if not _RUN_ID.match(run_id):
        raise Invalid(f"run id {run_id!r} is not 32 hex digits")
    if (problem := path_problem(path)) is not None:
        raise Invalid(f"artifact path {path!r} {problem}")
    return RunArtifactRef(run_id, path)


def parse_run_artifact_ref(text: object, *, field: str = "uri") -> RunArtifactRef:
    """Parse runs:/RUN_ID/PATH; the path follows the rule of every stored path."""
    forms = f"{RUN_ARTIFACT_FORMS}, or a registered model: {MODEL_FORMS}"
    return _parsed(_run_artifact_ref, text, "run model URI", forms, field)


# lineage nodes -----------------------------------------------------------------------
@dataclass(frozen=True)
class NodeRef:
    """A lineage node; with `alias` (maybe LATEST), a model version `id` names to resolve."""

    kind: str
    id: str
    alias: str | None = None


def parse_node_ref(text: object) -> NodeRef:
    """Parse a lineage reference; models, runs and datasets follow their own grammar."""

    def bad(why: str) -> Invalid:
        return Invalid(f"lineage reference {text!r} {why}; use {NODE_FORMS}", field="ref")

    ref = text.strip() if isinstance(text, str) else ""
    if not ref:
        raise bad("is empty")
    if ref.startswith("models:"):
        try:
            model = _model_ref(ref)
        except Invalid as exc:
            raise bad(f"is not a model reference ({exc.message})") from None
        if model.version is not None:
            return NodeRef("model_version", f"{model.name}/{model.version}")
        return NodeRef("model_version", model.name, alias=model.alias)
    if ":" not in ref and "@" in ref:  # NAME@V, as every dataset command takes it
        ref = f"dataset:{ref}"
    kind, colon, node_id = ref.partition(":")
    if not colon:
        if _RUN_ID.match(ref):
            return NodeRef("run", ref)
        raise bad("has no kind and is not a run id")
    if not _KIND.match(kind):
        raise bad(f"has kind {kind!r}; kinds are lowercase words like run or dataset")
    if not node_id:
        raise bad("has no id after the kind")
    if kind == "run" and not _RUN_ID.match(node_id):
        raise bad(f"has run id {node_id!r}, which is not 32 hex digits")
    if kind == "dataset":
        try:
            dataset = _dataset_ref(node_id)
        except Invalid as exc:
            raise bad(f"is not a dataset version ({exc.message})") from None
        if dataset.version is None:
            raise bad("names no dataset version (lineage is kept per version)")
        node_id = str(dataset)
    return NodeRef(kind, node_id)
