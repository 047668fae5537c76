"""Unpack a ModelKit into a folder: the chosen layers, each verified and checked for
escaping entries before a byte is written, plus the Kitfile."""

from __future__ import annotations

import json
from pathlib import Path

from knot.errors import Invalid
from knot.packaging.kitfile import Kitfile, to_yaml
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.media import LAYER_KINDS, layer_kind
from knot.packaging.safe_tar import check_layer, extract_layer
from knot.refs import parse_kit_ref

__all__ = ["kitfile_of", "unpack"]


def kitfile_of(store: KitStore, manifest: dict[str, object]) -> Kitfile:
    config = manifest["config"]
    assert isinstance(config, dict)
    return Kitfile.model_validate(json.loads(store.read_blob(str(config["digest"]))))


def unpack(
    ref: str, dest: Path, kinds: set[str] | None = None, *, store: KitStore | None = None
) -> list[Path]:
    """Extract the layers of `kinds` (model, modelpart, code, dataset, docs; all if None)
    of kit `ref` into `dest`, pulling it first if it is a registry reference."""
    unknown = (kinds or set()) - set(LAYER_KINDS)
    if unknown:
        raise Invalid(
            f"unknown layer kind(s) {', '.join(sorted(unknown))}; use {', '.join(LAYER_KINDS)}",
            field="kinds",
        )
    store = store or open_kit_store()
    local = ref
    if parse_kit_ref(ref).registry is not None:
        from knot.packaging.transfer import pull

        local = pull(ref, store=store).reference
    _, manifest = store.resolve(local)
    chosen = [
        layer
        for layer in manifest["layers"]
        if kinds is None or layer_kind(layer["mediaType"]) in kinds
    ]
    for layer in chosen:  # every layer checked before any is written
        check_layer(store.blob_path(layer["digest"]), layer["digest"])
    written: list[Path] = []
    for layer in chosen:
        written += extract_layer(store.blob_path(layer["digest"]), layer["digest"], dest)
    if kinds is None:
        (dest / "Kitfile").write_text(to_yaml(kitfile_of(store, manifest)), encoding="utf-8")
        written.append(dest / "Kitfile")
    return written
