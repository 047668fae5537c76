"""Ed25519 signatures on ModelKits, stored the way cosign stores them: an OCI artifact
tagged `sha256-<manifest digest>.sig` beside the kit, whose layer is a simple-signing
payload naming the manifest digest, with the base64 signature in an annotation."""

from __future__ import annotations

import base64
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from knot.errors import Corrupted, Invalid, NotFound
from knot.packaging.descriptors import MAX_MANIFEST_BYTES, parse_manifest
from knot.packaging.distribution import RegistryClient
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.media import MANIFEST_TYPE
from knot.packaging.pack import manifest_bytes
from knot.packaging.provenance import record_kit
from knot.packaging.transfer import signature_tag
from knot.refs import parse_kit_ref

__all__ = ["PAYLOAD_TYPE", "SIGNATURE_ANNOTATION", "generate_keys", "sign", "verify"]

PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"


def generate_keys(private: Path, public: Path) -> None:
    """Write a new Ed25519 key pair as PEM (the private key readable by its owner only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for path in (private, public):
        if path.exists():
            raise Invalid(f"{path} already exists; choose another path or remove it", field="key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _load_key(path: Path, private: bool) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    which = "private" if private else "public"
    if not path.is_file():
        raise Invalid(
            f"no {which} key at {path}; create a pair with `knot keys generate`", field="key"
        )
    try:
        data = path.read_bytes()
        key = (
            serialization.load_pem_private_key(data, password=None)
            if private
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        raise Invalid(
            f"{path} is not a PEM {which} key ({exc}); pass the {which} key from "
            "`knot keys generate`",
            field="key",
        ) from None
    wanted = Ed25519PrivateKey if private else Ed25519PublicKey
    if not isinstance(key, wanted):
        raise Invalid(f"{path} is not an Ed25519 {which} key; Knot signs with Ed25519", field="key")
    return key


def _payload(name: str, digest: str) -> bytes:
    body = {
        "critical": {
            "identity": {"docker-reference": name},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def sign(ref: str, key: Path, *, store: KitStore | None = None) -> str:
    """Sign kit `ref` (local, or REGISTRY/REPO:TAG) and store the signature beside it;
    returns the signature's tag."""
    private = _load_key(key, private=True)
    parsed = parse_kit_ref(ref)
    store = store or open_kit_store()
    digest = _digest(ref, store)
    payload = _payload(parsed.name, digest)
    signature = base64.b64encode(private.sign(payload)).decode()
    config = b"{}"
    layer: dict[str, Any] = {
        "mediaType": PAYLOAD_TYPE,
        "digest": store.put_bytes(payload),
        "size": len(payload),
        "annotations": {SIGNATURE_ANNOTATION: signature},
    }
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": _CONFIG_TYPE, "digest": store.put_bytes(config), "size": 2},
        "layers": [layer],
    }
    body = manifest_bytes(manifest)
    tag = signature_tag(digest)
    record_kit("modelkit.sign", digest, {"reference": ref, "signature": tag}, [])
    if parsed.registry is None:
        store.tag(str(parsed.with_tag(tag)), store.put_bytes(body), len(body))
        return str(parsed.with_tag(tag))
    with RegistryClient(parsed.registry) as registry:
        for blob in (manifest["config"], layer):
            d = blob["digest"]
            if not registry.blob_exists(parsed.repository, d, push=True):
                registry.upload_blob(parsed.repository, store.blob_path(d), d)
        registry.put_manifest(parsed.repository, tag, body, MANIFEST_TYPE)
    return str(parsed.with_tag(tag))


def _digest(ref: str, store: KitStore) -> str:
    parsed = parse_kit_ref(ref)
    if parsed.registry is None:
        return store.resolve(ref)[0]
    with RegistryClient(parsed.registry) as registry:
        return registry.get_manifest(parsed.repository, parsed.target)[1]


def _signature_parts(ref: str, digest: str, store: KitStore) -> list[tuple[bytes, str]]:
    """(payload, base64 signature) of every signature stored for `digest`."""
    parsed = parse_kit_ref(ref)
    tag = signature_tag(digest)
    unsigned = NotFound(
        f"ModelKit {ref} ({digest}) is not signed: no {tag} beside it; sign it with "
        "`knot sign REF --key KEY`",
        field="signature",
    )
    if parsed.registry is None:
        try:
            _, manifest = store.resolve(str(parsed.with_tag(tag)))
        except NotFound:
            raise unsigned from None
        fetch: Callable[[dict[str, Any]], bytes] = functools.partial(_read_local, store)
    else:
        registry = RegistryClient(parsed.registry)
        try:
            body, _ = registry.get_manifest(parsed.repository, tag)
        except NotFound:
            registry.close()
            raise unsigned from None
        try:
            manifest = parse_manifest(body, f"{parsed.registry}/{parsed.repository}:{tag}")
        except Invalid:
            registry.close()
            raise
        fetch = functools.partial(_download, registry, parsed.repository, store)

    try:
        return [
            (fetch(layer), layer.get("annotations", {}).get(SIGNATURE_ANNOTATION, ""))
            for layer in manifest.get("layers", [])
            if layer.get("mediaType") == PAYLOAD_TYPE
        ]
    finally:
        if parsed.registry is not None:
            registry.close()


def _read_local(store: KitStore, layer: dict[str, Any]) -> bytes:
    return store.read_blob(layer["digest"])


def _download(registry: RegistryClient, repo: str, store: KitStore, layer: dict[str, Any]) -> bytes:
    digest, size = layer["digest"], layer["size"]
    if size > MAX_MANIFEST_BYTES:  # a payload is a few hundred bytes; never read a flood
        raise Invalid(
            f"the signature payload {digest} of {registry.registry}/{repo} claims {size:,} "
            f"bytes, more than the {MAX_MANIFEST_BYTES:,} Knot reads for one; it is not a "
            "cosign signature",
            field="signature",
        )
    tmp = store.tmp_file()
    try:
        registry.download_blob(repo, digest, tmp, size)
        return tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)


def verify(ref: str, key: Path, *, store: KitStore | None = None) -> str:
    """Check that kit `ref` carries a signature by `key`'s private half over its manifest
    digest; returns the digest. Corrupted if the signature does not verify."""
    from cryptography.exceptions import InvalidSignature

    public = _load_key(key, private=False)
    store = store or open_kit_store()
    digest = _digest(ref, store)
    for payload, signature in _signature_parts(ref, digest, store):
        try:
            claimed = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
            public.verify(base64.b64decode(signature), payload)
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue
        if claimed == digest:
            return digest
    raise Corrupted(
        f"the signature of ModelKit {ref} ({digest}) does not verify with the public key "
        f"{key}: the kit was changed after signing, or signed with another key",
        field="signature",
    )
