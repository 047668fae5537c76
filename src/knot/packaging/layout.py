"""The local ModelKit store: an OCI image layout (oci-layout, index.json, blobs/sha256)
under KNOT_HOME/kits, so `oras`, `skopeo` or kit can read it as it is.

Blobs are renamed into place only after their digest was checked and their bytes
fsync'd; index.json is rewritten atomically under a lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knot.artifacts import fsync_dir, is_digest
from knot.errors import Corrupted, Invalid, NotFound
from knot.packaging.descriptors import DIGEST_FORM, shown
from knot.packaging.layer_tar import CHUNK
from knot.refs import KitRef, parse_kit_ref

__all__ = ["REF_NAME", "KitEntry", "KitStore", "file_digest", "open_kit_store"]

REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class KitEntry:
    """One tagged ModelKit in the local store."""

    reference: str
    digest: str
    size: int


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


class KitStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        layout = root / "oci-layout"
        if not layout.exists():
            layout.write_text('{"imageLayoutVersion":"1.0.0"}')
        if not (root / "index.json").exists():
            self._write_index([])

    # blobs

    def blob_path(self, digest: str) -> Path:
        """Where blob `digest` lives; Invalid unless it is a sha256 digest, so no path
        is ever built from `sha256:../../x` or the like."""
        if not is_digest(digest):
            raise Invalid(
                f"blob digest {shown(digest)} is not {DIGEST_FORM}; it names no blob of the "
                f"local ModelKit store {self.root}, so nothing was read, written or removed",
                field="digest",
            )
        return self.blobs / digest.removeprefix("sha256:")

    def has(self, digest: str, size: int | None = None) -> bool:
        """Whether blob `digest` is stored (with `size` bytes, when given)."""
        path = self.blob_path(digest)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def tmp_file(self) -> Path:
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        os.close(fd)
        return Path(name)

    def put_file(self, tmp: Path, digest: str) -> None:
        """Move a written, fsync'd temp file into place as blob `digest`."""
        os.replace(tmp, self.blob_path(digest))
        fsync_dir(self.blobs)

    def put_bytes(self, data: bytes) -> str:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        if not self.has(digest):
            tmp = self.tmp_file()
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self.put_file(tmp, digest)
        return digest

    def read_blob(self, digest: str) -> bytes:
        """A small blob (manifest, config), checked against its digest."""
        path = self.blob_path(digest)
        if not path.is_file():
            raise NotFound(
                f"blob {digest} is missing from the local ModelKit store {self.root}; "
                "pull or pack the kit again",
                field="digest",
            )
        data = path.read_bytes()
        if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            raise Corrupted(_tampered(digest, path))
        return data

    def verify_blob(self, digest: str) -> Path:
        path = self.blob_path(digest)
        if not path.is_file():
            raise NotFound(f"blob {digest} is missing from {self.root}; pull the kit again")
        if file_digest(path) != digest:
            raise Corrupted(_tampered(digest, path))
        return path

    # index

    def _read_index(self) -> list[dict[str, Any]]:
        data = json.loads((self.root / "index.json").read_text())
        manifests: list[dict[str, Any]] = data.get("manifests", [])
        return manifests

    def _write_index(self, manifests: list[dict[str, Any]]) -> None:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
        body = json.dumps({**index, "manifests": manifests}, indent=2)
        tmp = self.root / ".index.json.tmp"
        tmp.write_text(body)
        os.replace(tmp, self.root / "index.json")

    @contextmanager
    def _locked(self) -> Iterator[list[dict[str, Any]]]:
        with (self.root / ".index.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            manifests = self._read_index()
            yield manifests
            self._write_index(manifests)

    def tag(self, reference: str, digest: str, size: int) -> None:
        """Point `reference` (e.g. churn:3) at manifest `digest`, replacing an older one."""
        with self._locked() as manifests:
            manifests[:] = [m for m in manifests if _ref_of(m) != reference]
            descriptor = {"mediaType": MANIFEST, "digest": digest, "size": size}
            manifests.append({**descriptor, "annotations": {REF_NAME: reference}})

    def entries(self) -> list[KitEntry]:
        return sorted(
            (KitEntry(_ref_of(m) or "", m["digest"], int(m["size"])) for m in self._read_index()),
            key=lambda e: e.reference,
        )

    def resolve(self, text: str) -> tuple[str, dict[str, Any]]:
        """(manifest digest, manifest) for a local reference (churn:3, churn@sha256:...)
        or a bare manifest digest."""
        if is_digest(text):
            digest = text
        else:
            ref = parse_kit_ref(text)
            digest = ref.digest or self._digest_of(ref)
        manifest = json.loads(self.read_blob(digest))
        return digest, manifest

    def _digest_of(self, ref: KitRef) -> str:
        wanted = str(ref.with_tag(ref.tag or "latest"))
        for entry in self.entries():
            if entry.reference == wanted:
                return entry.digest
        known = ", ".join(e.reference for e in self.entries()) or "none yet"
        raise NotFound(
            f"no ModelKit {wanted!r} in the local store (it holds: {known}); "
            "`knot pack` or `knot pull` it first",
            field="ref",
        )

    def remove(self, text: str) -> str:
        """Untag a kit and delete the blobs no remaining kit uses; returns its digest."""
        ref = parse_kit_ref(text)
        wanted = str(ref.with_tag(ref.tag or "latest"))
        digest = self._digest_of(ref)
        with self._locked() as manifests:
            manifests[:] = [m for m in manifests if _ref_of(m) != wanted]
            keep: set[str] = set()
            for m in manifests:
                keep |= self._blobs_of(m.get("digest"))
            # only this kit's blobs: a kit being packed right now is not tagged yet
            for blob in self._blobs_of(digest) - keep:
                self.blob_path(blob).unlink(missing_ok=True)
        return digest

    def _blobs_of(self, manifest_digest: object) -> set[str]:
        """The blobs a stored manifest names. A digest that is not sha256 names no file
        here (an older Knot may have stored a hostile manifest): it is left out, so
        removing such a kit unlinks nothing outside the store."""
        if not isinstance(manifest_digest, str) or not is_digest(manifest_digest):
            return set()
        blobs = {manifest_digest}
        if not self.has(manifest_digest):
            return blobs
        try:
            manifest = json.loads(self.blob_path(manifest_digest).read_bytes())
        except ValueError:  # damaged: only the manifest blob itself is known
            return blobs
        if not isinstance(manifest, dict):
            return blobs
        layers = manifest.get("layers")
        found = [manifest.get("config"), *(layers if isinstance(layers, list) else [])]
        blobs |= {d["digest"] for d in found if isinstance(d, dict) and is_digest(d.get("digest"))}
        return blobs


def _ref_of(descriptor: dict[str, Any]) -> str | None:
    ref: str | None = descriptor.get("annotations", {}).get(REF_NAME)
    return ref


def _tampered(digest: str, path: Path) -> str:
    return (
        f"blob {digest} at {path} does not match its digest (changed on disk or truncated); "
        "remove the kit (`knot kits remove`) and pull or pack it again"
    )


def open_kit_store(root: Path | None = None) -> KitStore:
    """The local store at `root`, by default KNOT_HOME/kits."""
    if root is None:
        from knot.config import settings

        root = settings().home / "kits"
    return KitStore(root)
