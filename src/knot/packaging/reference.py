"""ModelKit references: `churn:3` in the local store, `REGISTRY/REPO:TAG` (or
`oci://REGISTRY/REPO:TAG`, `...@sha256:...`) in an OCI registry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knot.errors import Invalid

__all__ = ["FORMS", "Reference", "is_loopback", "parse_reference"]

FORMS = (
    "NAME[:TAG] for the local store (e.g. churn:3), or REGISTRY/REPO[:TAG][@sha256:DIGEST] "
    "for a registry (e.g. 127.0.0.1:5000/team/churn:3, optionally prefixed oci://)"
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class Reference:
    """A parsed reference; `registry` is None for the local store."""

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

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.repository, tag, None, self.registry)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _bad(text: str, why: str) -> Invalid:
    return Invalid(f"ModelKit reference {text!r} is malformed ({why}); use {FORMS}", field="ref")


def parse_reference(text: str) -> Reference:
    """Parse a reference; Invalid names the accepted forms when it is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), "it is empty")
    rest = text.strip().removeprefix("oci://")
    digest = None
    if "@" in rest:
        rest, digest = rest.rsplit("@", 1)
        if not _DIGEST.match(digest):
            raise _bad(text, f"digest {digest!r} is not sha256: and 64 hex digits")
    registry = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _HOST.match(first):
            raise _bad(text, f"registry {first!r} is not a host[:port]")
        registry, rest = first, remainder
    tag = None
    repository = rest
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise _bad(text, f"tag {tag!r} must be 1-128 letters, digits, '.', '_' or '-'")
    if not _REPO.match(repository):
        raise _bad(
            text,
            f"repository {repository!r} must be lowercase letters, digits and separators "
            "('.', '_', '-', '/')",
        )
    return Reference(repository, tag, digest, registry)


def is_loopback(registry: str) -> bool:
    """Whether plain http is allowed: only to this machine."""
    host = (
        registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1:].split("]")[0]
    )
    return host in ("localhost", "::1") or host.startswith("127.")
