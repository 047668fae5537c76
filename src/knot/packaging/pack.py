"""Pack a context folder and its Kitfile into a ModelKit in the local store: one layer
tar per Kitfile entry in kit's order (model, parts, code, datasets, docs), the Kitfile
with each layer's digest as the config, and an OCI image manifest tagged locally."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knot.errors import Invalid
from knot.packaging.kitfile import Kitfile, config_json, read_kitfile
from knot.packaging.layer_tar import layer_size, write_layer
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.media import (
    ARTIFACT_TYPE,
    CLI_VERSION,
    CONFIG_TYPE,
    MANIFEST_TYPE,
    layer_media_type,
)
from knot.packaging.progress import byte_progress
from knot.refs import parse_kit_ref

__all__ = ["COMPRESSIONS", "PackedKit", "manifest_bytes", "pack_folder", "pack_kitfile"]

COMPRESSIONS = {"none": None, "gzip": 6, "gzip-fastest": 1}


@dataclass(frozen=True)
class PackedKit:
    reference: str
    digest: str
    size: int
    manifest: dict[str, Any]
    kitfile: Kitfile


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Compact JSON, annotations sorted by key, as Go's encoding/json writes them."""
    data = dict(manifest)
    if "annotations" in data:
        data["annotations"] = dict(sorted(data["annotations"].items()))
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _entries(kitfile: Kitfile) -> list[tuple[str, Any]]:
    """(layer kind, Kitfile entry) in kit's layer order."""
    found: list[tuple[str, Any]] = []
    if kitfile.model is not None:
        if kitfile.model.path:
            found.append(("model", kitfile.model))
        found += [("modelpart", p) for p in kitfile.model.parts or [] if p.path]
    found += [("code", c) for c in kitfile.code or [] if c.path]
    found += [("dataset", d) for d in kitfile.datasets or [] if d.path]
    found += [("docs", d) for d in kitfile.docs or []]
    return found


def pack_kitfile(
    context: Path,
    kitfile: Kitfile,
    tag: str,
    *,
    compression: str = "none",
    annotations: dict[str, str] | None = None,
    store: KitStore | None = None,
) -> PackedKit:
    """Pack `context` as `kitfile` describes it and tag it `tag` in the local store."""
    if compression not in COMPRESSIONS:
        raise Invalid(
            f"compression {compression!r} is not one of: {', '.join(COMPRESSIONS)}",
            field="compression",
        )
    ref = parse_kit_ref(tag)
    if ref.digest is not None:
        raise Invalid(f"tag {tag!r} must not carry a digest; use NAME:TAG", field="tag")
    if not context.is_dir():
        raise Invalid(f"context folder {context} does not exist", field="context")
    store = store or open_kit_store()
    kitfile = kitfile.model_copy(deep=True)
    entries = _entries(kitfile)
    paths = kitfile.layer_paths()
    for _, entry in entries:
        if entry.digest or entry.diffId:
            raise Invalid("a Kitfile to pack must not carry layer digests", field="kitfile")
    layers = _write_layers(context, entries, paths, compression, store)
    config = config_json(kitfile)
    config_digest = store.put_bytes(config)
    from knot._version import __version__

    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": layers,
        "annotations": {CLI_VERSION: f"knot-{__version__}", **(annotations or {})},
    }
    body = manifest_bytes(manifest)
    digest = store.put_bytes(body)
    name = str(ref.with_tag(ref.tag or "latest"))
    store.tag(name, digest, len(body))
    return PackedKit(name, digest, len(body), json.loads(body), kitfile)


def _write_layers(
    context: Path,
    entries: list[tuple[str, Any]],
    paths: list[str],
    compression: str,
    store: KitStore,
) -> list[dict[str, Any]]:
    layers = []
    total = sum(layer_size(context, entry.path, paths) for _, entry in entries)
    with byte_progress() as progress:
        task = progress.add_task("packing", total=total)
        for kind, entry in entries:
            tmp = store.tmp_file()
            try:
                layer = write_layer(
                    context,
                    entry.path,
                    paths,
                    tmp,
                    gzip_level=COMPRESSIONS[compression],
                    on_bytes=lambda n: progress.advance(task, n),
                )
                store.put_file(tmp, layer.digest)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            entry.digest, entry.diffId = layer.digest, layer.diff_id
            media = layer_media_type(kind, "gzip" if compression != "none" else "none")
            layers.append({"mediaType": media, "digest": layer.digest, "size": layer.size})
    return layers


def pack_folder(
    folder: Path, tag: str, *, compression: str = "none", kitfile: Path | None = None
) -> PackedKit:
    """Pack a folder holding a user-written Kitfile (or the Kitfile at `kitfile`)."""
    found = kitfile or next(
        (folder / n for n in ("Kitfile", "kitfile", ".kitfile") if (folder / n).is_file()),
        folder / "Kitfile",
    )
    return pack_kitfile(folder, read_kitfile(found), tag, compression=compression)
