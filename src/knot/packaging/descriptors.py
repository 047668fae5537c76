"""What a registry sends is checked before it is used: every digest must be
`sha256:` and 64 lowercase hex digits before a path or URL is built from it, every
descriptor must carry a size, and a manifest must be a small JSON object.

A digest of any other shape (`sha256:../../victim`) would name a file outside the
kit store once turned into `blobs/sha256/<hex>`, so it is refused here, where the
manifest is first read, and again by the store wherever a blob path is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from knot.artifacts import is_digest
from knot.errors import Corrupted, Invalid

__all__ = [
    "DIGEST_FORM",
    "MAX_CONFIG_BYTES",
    "MAX_MANIFEST_BYTES",
    "check_oci_digest",
    "parse_manifest",
    "read_manifest",
    "shown",
    "size_mismatch",
]

DIGEST_FORM = "'sha256:' followed by 64 lowercase hex digits"
# what the distribution spec asks registries to accept; a registry cannot make us
# read more than this into memory for a manifest, nor for a Kitfile config
MAX_MANIFEST_BYTES = 4 << 20
MAX_CONFIG_BYTES = 4 << 20


def shown(value: object, limit: int = 100) -> str:
    """`repr` cut to `limit` characters: hostile values stay on one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def size_mismatch(where: str, received: int, size: int, *, more: bool = False) -> Corrupted:
    """The error for a blob whose byte count is not its descriptor's size."""
    got = f"more than {size:,}" if more else f"{received:,}"
    return Corrupted(
        f"{where} has {got} bytes, but its descriptor says {size:,}; the registry's copy is "
        "damaged or was tampered with, so nothing was stored",
        field="size",
    )


def check_oci_digest(value: object, where: str) -> str:
    """Return `value` if it is a sha256 digest, else raise Invalid naming `where`."""
    if not is_digest(value):
        raise Invalid(
            f"{where} has digest {shown(value)}, which is not {DIGEST_FORM}; the registry "
            "sent a malformed or hostile manifest, so nothing was stored",
            field="digest",
        )
    assert isinstance(value, str)
    return value


def _descriptor(raw: object, where: str, limit: int | None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(
            f"{where} is not a descriptor object (got {shown(raw)}); the registry sent a "
            "malformed manifest, so nothing was stored",
            field="manifest",
        )
    check_oci_digest(raw.get("digest"), where)
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise Invalid(
            f"{where} has size {shown(size)}, not a byte count (an integer of 0 or more); "
            "the registry sent a malformed manifest, so nothing was stored",
            field="manifest",
        )
    if limit is not None and size > limit:
        raise Invalid(
            f"{where} claims {size:,} bytes, more than the {limit:,} Knot reads for it; "
            "the registry sent a malformed or hostile manifest, so nothing was stored",
            field="manifest",
        )
    if not isinstance(raw.get("mediaType"), str):
        raise Invalid(
            f"{where} has media type {shown(raw.get('mediaType'))}, not text; the registry "
            "sent a malformed manifest, so nothing was stored",
            field="manifest",
        )
    return raw


def read_manifest(chunks: Iterable[bytes], announced: int | None, where: str) -> bytes:
    """The manifest bytes of a response, refused once past MAX_MANIFEST_BYTES (or at
    once when the announced length is already past it)."""
    too_big = Invalid(
        f"{where} is larger than {MAX_MANIFEST_BYTES:,} bytes, the most Knot reads for a "
        "manifest; the registry sent something else than a ModelKit manifest",
        field="manifest",
    )
    if announced is not None and announced > MAX_MANIFEST_BYTES:
        raise too_big
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_MANIFEST_BYTES:
            raise too_big
    return bytes(body)


def parse_manifest(body: bytes, source: str) -> dict[str, Any]:
    """The manifest of `source` as a dict whose config and layers are checked
    descriptors; Invalid naming the first problem otherwise."""
    try:
        manifest = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(
            f"the manifest of {source} is not JSON ({exc}); the registry sent something "
            "else than an OCI manifest, so nothing was stored",
            field="manifest",
        ) from None
    if not isinstance(manifest, dict):
        raise Invalid(
            f"the manifest of {source} is {type(manifest).__name__}, not a JSON object; "
            "nothing was stored",
            field="manifest",
        )
    _descriptor(manifest.get("config"), f"the config of {source}", MAX_CONFIG_BYTES)
    layers = manifest.setdefault("layers", [])
    if not isinstance(layers, list):
        raise Invalid(
            f"the layers of {source} are {shown(layers)}, not a list; nothing was stored",
            field="manifest",
        )
    for i, layer in enumerate(layers):
        _descriptor(layer, f"layer {i} of {source}", None)
    return manifest
