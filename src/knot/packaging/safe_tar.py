"""Unpacking layer tars without trusting them: the blob's digest is checked and every
entry inspected before anything is written, and an entry that would land outside the
target folder (`../`, an absolute path, a link, a device) refuses the whole layer."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from knot.errors import Corrupted, Invalid
from knot.packaging.layer_tar import CHUNK

__all__ = ["check_layer", "extract_layer"]


class _HashingReader:
    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data


def _entry_problem(member: tarfile.TarInfo) -> str | None:
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in parts:
        return "climbs out with '..'"
    if member.issym() or member.islnk():
        return f"is a link (to {member.linkname!r})"
    if not (member.isreg() or member.isdir()):
        return "is a device, fifo or other special file"
    return None


def check_layer(blob: Path, digest: str) -> list[tarfile.TarInfo]:
    """Verify the blob's digest and that every entry stays inside the target; the
    entries, in order. Reads the blob once, streaming."""
    with blob.open("rb") as raw:
        reader = _HashingReader(raw)
        members = []
        try:
            with tarfile.open(fileobj=reader, mode="r|*") as tar:  # type: ignore[call-overload]
                for member in tar:
                    problem = _entry_problem(member)
                    if problem is not None:
                        raise Invalid(
                            f"layer {digest} holds entry {member.name!r}, which {problem}: it "
                            "would escape the target folder, so nothing was unpacked",
                            field="layer",
                        )
                    members.append(member)
        except tarfile.TarError as exc:
            reader.read()  # finish hashing: a damaged blob is reported as such
            if f"sha256:{reader.sha.hexdigest()}" != digest:
                raise Corrupted(_mismatch(digest, blob)) from None
            raise Invalid(f"layer {digest} is not a readable tar ({exc})", field="layer") from None
        while reader.read(CHUNK):
            pass
    if f"sha256:{reader.sha.hexdigest()}" != digest:
        raise Corrupted(_mismatch(digest, blob))
    return members


def _mismatch(digest: str, blob: Path) -> str:
    return (
        f"layer {digest} at {blob} does not match its digest (tampered with or truncated); "
        "nothing was unpacked. Remove the kit (`knot kits remove`) and pull it again"
    )


def extract_layer(blob: Path, digest: str, dest: Path) -> list[Path]:
    """Check the layer, then write its entries under `dest`; the files written."""
    check_layer(blob, digest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = []
    with tarfile.open(blob, mode="r|*") as tar:
        for member in tar:
            target = (root / member.name).resolve()
            if target != root and root not in target.parents:
                raise Invalid(
                    f"entry {member.name!r} of layer {digest} resolves outside {dest} "
                    "(through a link already in the folder); unpack into an empty folder",
                    field="dest",
                )
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # a regular file, checked above
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            os.chmod(target, member.mode & 0o777 | 0o600)
            written.append(target)
    return written
