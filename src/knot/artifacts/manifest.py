"""Folder manifests: a folder is stored as a JSON blob listing its files by digest.

The manifest is canonical JSON (sorted entries, sorted keys, no spaces), so the
same folder always has the same manifest and the manifest's own digest names
the folder. Paths are relative POSIX paths; a manifest that names a path outside
its folder ("..", absolute, drive letters) is refused before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from knot.artifacts._digest import is_digest
from knot.errors import Invalid
from knot.paths import path_problem

__all__ = ["MEDIA_TYPE", "Manifest", "ManifestEntry", "check_entry_path"]

MEDIA_TYPE = "application/vnd.knot.folder.v1+json"


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a folder: where it goes, what it holds, how big it is."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """The files of a folder, sorted by path. Empty sub-folders are not recorded."""

    entries: tuple[ManifestEntry, ...]

    @property
    def size(self) -> int:
        """Total bytes of all files."""
        return sum(entry.size for entry in self.entries)

    def to_bytes(self) -> bytes:
        entries = sorted(self.entries, key=lambda entry: entry.path)
        payload = {
            "mediaType": MEDIA_TYPE,
            "entries": [{"path": e.path, "digest": e.digest, "size": e.size} for e in entries],
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, digest: str) -> Manifest:
        """Parse and check a stored manifest; raise Invalid naming `digest` if it is not one."""
        not_manifest = f"blob {digest} is not a folder manifest; use download_file for a file"
        try:
            payload = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Invalid(not_manifest, field="digest") from None
        if not isinstance(payload, dict) or payload.get("mediaType") != MEDIA_TYPE:
            raise Invalid(not_manifest, field="digest")
        raw_entries = payload.get("entries")
        if not isinstance(raw_entries, list):
            raise Invalid(f"folder manifest {digest} has no entries list", field="digest")
        entries = tuple(_entry(raw, digest) for raw in raw_entries)
        _check_unique(entries, digest)
        return cls(entries=entries)


def check_entry_path(path: object, manifest: str) -> str:
    """Return `path` if it stays inside its folder, else raise Invalid naming it."""
    problem = path_problem(path)
    if problem is not None:
        raise Invalid(
            f"folder manifest {manifest} has an unsafe path {path!r}, which {problem}: "
            "the manifest was refused and nothing was written",
            field="path",
        )
    assert isinstance(path, str)
    return path


def _entry(raw: object, manifest: str) -> ManifestEntry:
    if not isinstance(raw, dict):
        raise Invalid(f"folder manifest {manifest} has a malformed entry {raw!r}", field="digest")
    path = check_entry_path(raw.get("path"), manifest)
    digest, size = raw.get("digest"), raw.get("size")
    if not is_digest(digest) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise Invalid(
            f"folder manifest {manifest} entry {path!r} needs a sha256 digest and a "
            f"non-negative size, got digest={digest!r} size={size!r}",
            field="digest",
        )
    assert isinstance(digest, str)
    return ManifestEntry(path=path, digest=digest, size=size)


def _check_unique(entries: tuple[ManifestEntry, ...], manifest: str) -> None:
    paths = {entry.path for entry in entries}
    if len(paths) != len(entries):
        raise Invalid(f"folder manifest {manifest} lists a path twice", field="path")
    for entry in entries:
        for parent in PurePosixPath(entry.path).parents:
            if str(parent) in paths:
                raise Invalid(
                    f"folder manifest {manifest} uses {str(parent)!r} as both a file "
                    f"and the folder of {entry.path!r}",
                    field="path",
                )
