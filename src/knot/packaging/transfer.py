"""Push a ModelKit from the local store to an OCI registry and pull one back.

Push sends only blobs the registry lacks (a HEAD per blob first), mounting them from
another repository of the same registry when asked. Pull trusts nothing the registry
says: the manifest is checked against the digest asked for and the registry's header,
every descriptor's digest and size are checked before a path is built from them, and
every blob is hashed and counted as it streams in; nothing that fails is stored.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from knot.errors import Invalid, NotFound
from knot.governance.lineage import Edge
from knot.packaging.descriptors import parse_manifest, shown
from knot.packaging.distribution import RegistryClient
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.media import CONFIG_TYPE, MANIFEST_TYPE
from knot.packaging.progress import byte_progress
from knot.packaging.provenance import record_kit
from knot.refs import KitRef, parse_kit_ref

__all__ = ["TransferResult", "pull", "push", "remote_reference", "signature_tag"]


@dataclass
class TransferResult:
    reference: str
    digest: str
    sent: list[str] = field(default_factory=list)  # blobs uploaded (push) or downloaded (pull)
    skipped: list[str] = field(default_factory=list)  # already there
    mounted: list[str] = field(default_factory=list)
    bytes_moved: int = 0


def signature_tag(digest: str) -> str:
    """cosign's tag for the signature of manifest `digest`."""
    return f"sha256-{digest.removeprefix('sha256:')}.sig"


def remote_reference(text: str) -> KitRef:
    ref = parse_kit_ref(text)
    if ref.registry is None:
        raise Invalid(
            f"{text!r} names no registry; use REGISTRY/REPO[:TAG] "
            "(e.g. 127.0.0.1:5000/team/churn:3)",
            field="ref",
        )
    return ref


def _blobs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [manifest["config"], *manifest.get("layers", [])]


def push(
    source: str,
    destination: str,
    *,
    mount_from: str | None = None,
    store: KitStore | None = None,
    client: RegistryClient | None = None,
) -> TransferResult:
    """Push local kit `source` to `destination` (its tag defaults to the source's)."""
    store = store or open_kit_store()
    digest, manifest = store.resolve(source)
    local = parse_kit_ref(source)
    remote = remote_reference(destination)
    if remote.digest is not None:
        raise Invalid(f"push by tag, not digest: {destination!r}", field="ref")
    remote = remote.with_tag(remote.tag or local.tag or "latest")
    result = TransferResult(str(remote), digest)
    with client or RegistryClient(remote.registry or "") as registry:
        _push_manifest(registry, store, remote, digest, manifest, mount_from, result)
        sig_ref = local.with_tag(signature_tag(digest))
        with contextlib.suppress(NotFound):
            sig_digest, sig_manifest = store.resolve(str(sig_ref))
            sig_remote = remote.with_tag(signature_tag(digest))
            _push_manifest(registry, store, sig_remote, sig_digest, sig_manifest, None, result)
    edge = Edge("modelkit", digest, "pushed", "oci_reference", str(remote))
    record_kit("modelkit.push", digest, {"to": str(remote), "sent": len(result.sent)}, [edge])
    return result


def _push_manifest(
    registry: RegistryClient,
    store: KitStore,
    remote: KitRef,
    digest: str,
    manifest: dict[str, Any],
    mount_from: str | None,
    result: TransferResult,
) -> None:
    blobs = _blobs(manifest)
    with byte_progress() as progress:
        task = progress.add_task(f"pushing {remote}", total=sum(int(b["size"]) for b in blobs))
        for blob in blobs:
            d = blob["digest"]
            if registry.blob_exists(remote.repository, d, push=True):
                result.skipped.append(d)
            else:
                how = registry.upload_blob(
                    remote.repository, store.verify_blob(d), d, mount_from=mount_from
                )
                (result.mounted if how == "mounted" else result.sent).append(d)
                result.bytes_moved += int(blob["size"]) if how == "uploaded" else 0
            progress.advance(task, int(blob["size"]))
    body = store.read_blob(digest)
    registry.put_manifest(remote.repository, remote.target, body, MANIFEST_TYPE)


def pull(
    source: str, *, store: KitStore | None = None, client: RegistryClient | None = None
) -> TransferResult:
    """Pull `source` (REGISTRY/REPO:TAG or @digest) and its signature, if it has one, into
    the local store, tagged with the full reference."""
    store = store or open_kit_store()
    remote = remote_reference(source)
    with client or RegistryClient(remote.registry or "") as registry:
        body, digest = registry.get_manifest(remote.repository, remote.target)
        manifest = parse_manifest(body, str(remote))
        if manifest["config"]["mediaType"] != CONFIG_TYPE:
            raise Invalid(
                f"{source} is not a ModelKit (its config media type is "
                f"{shown(manifest['config']['mediaType'])}, not {CONFIG_TYPE})",
                field="ref",
            )
        local = remote.with_tag(remote.tag) if remote.tag else remote
        result = TransferResult(str(local), digest)
        _pull_manifest(registry, store, remote, body, manifest, result)
        name = str(local) if remote.tag else f"{remote.name}:{signature_tag(digest)[:-4]}"
        store.tag(name, digest, len(body))
        result.reference = name
        with contextlib.suppress(NotFound):
            sig_body, sig_digest = registry.get_manifest(remote.repository, signature_tag(digest))
            sig_source = str(remote.with_tag(signature_tag(digest)))
            sig_manifest = parse_manifest(sig_body, sig_source)
            _pull_manifest(registry, store, remote, sig_body, sig_manifest, result)
            store.tag(str(remote.with_tag(signature_tag(digest))), sig_digest, len(sig_body))
    record_kit("modelkit.pull", digest, {"from": str(remote), "received": len(result.sent)}, [])
    return result


def _pull_manifest(
    registry: RegistryClient,
    store: KitStore,
    remote: KitRef,
    body: bytes,
    manifest: dict[str, Any],
    result: TransferResult,
) -> None:
    blobs = _blobs(manifest)
    with byte_progress() as progress:
        task = progress.add_task(f"pulling {remote}", total=sum(int(b["size"]) for b in blobs))
        for blob in blobs:
            d, size = blob["digest"], int(blob["size"])
            if store.has(d, size):
                result.skipped.append(d)
            else:
                # into a temp file inside the store, renamed into place once verified
                tmp = store.tmp_file()
                try:
                    registry.download_blob(remote.repository, d, tmp, size)
                    store.put_file(tmp, d)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        tmp.unlink()
                result.sent.append(d)
                result.bytes_moved += size
            progress.advance(task, size)
    store.put_bytes(body)
