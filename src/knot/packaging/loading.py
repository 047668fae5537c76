"""Load the model inside a ModelKit, so a kit reference works wherever a model URI does."""

from __future__ import annotations

import tempfile
from pathlib import Path

from knot.errors import Invalid
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.unpack import kitfile_of, unpack
from knot.refs import parse_kit_ref
from knot.registry.model_folder import LoadedModel, load_folder

__all__ = ["load_model_from_kit"]


def load_model_from_kit(
    ref: str, *, public_key: Path | None = None, store: KitStore | None = None
) -> LoadedModel:
    """Load the model of kit `ref` (`churn:3`, `REGISTRY/REPO:TAG` or `oci://...`; pulled
    first when remote). With `public_key`, a kit without a valid signature by that key is
    refused before anything is loaded."""
    store = store or open_kit_store()
    text = ref.removeprefix("oci://")
    if parse_kit_ref(text).registry is not None:
        from knot.packaging.transfer import pull

        text = pull(text, store=store).reference
    if public_key is not None:
        from knot.packaging.signing import verify

        verify(text, public_key, store=store)
    _, manifest = store.resolve(text)
    kitfile = kitfile_of(store, manifest)
    if kitfile.model is None or not kitfile.model.path:
        raise Invalid(f"ModelKit {ref} holds no model layer; nothing to load", field="ref")
    with tempfile.TemporaryDirectory(prefix="knot-kit-") as tmp:
        unpack(text, Path(tmp), {"model", "modelpart"}, store=store)
        folder = (Path(tmp) / kitfile.model.path).resolve()
        if not folder.is_relative_to(Path(tmp).resolve()):
            # a pulled Kitfile is the registry's word: it must not point the loader
            # at a model elsewhere on this machine
            raise Invalid(
                f"ModelKit {ref} names its model path {kitfile.model.path!r}, which leaves "
                "the kit; a model path must stay inside it (e.g. 'model')",
                field="ref",
            )
        return load_folder(folder, ref)
