"""The one way a stored model is loaded: `knot.load_model` and `knot serve` both call it.

A model folder already in the served-model cache (knot.registry.forms.model_cache) is read
from there without touching the artifact store: its entry was written from a verified
load. Otherwise every blob of the folder is read and checked against its digest first,
so a changed file raises Corrupted before anything is unpickled, and then the model is
loaded from the fast-load form the version records (when it has a usable one) or from
the folder (slow formats through the cache's helper process), filling the cache.
"""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

from knot.registry.forms.model_cache import cached_model, fast_load_model, load_model_folder
from knot.registry.model_folder import LoadedModel

if TYPE_CHECKING:
    from knot.artifacts.store import ArtifactStore
    from knot.registry.entities import ModelVersion

__all__ = ["load_stored_model", "load_version"]


def load_stored_model(
    artifacts: ArtifactStore,
    digest: str,
    source: str,
    fast_load_digest: str | None = None,
    *,
    lean: bool = False,
) -> LoadedModel:
    """The model in folder `digest` of `artifacts`, labelled `source` (its URI). Raises
    Corrupted when a blob of the folder does not match its digest. `lean`: a model with a
    numpy form is given as that form (knot.registry.forms.linear_form), not as the estimator."""
    model = cached_model(digest, source, lean=lean)
    if model is not None:
        return model
    with tempfile.TemporaryDirectory(prefix="knot-model-") as tmp:
        folder = artifacts.download_folder(digest, tmp)  # each blob checked on the way out
        if fast_load_digest is not None:
            # checked against its own digest as it is read; None sends us to the folder
            model = fast_load_model(artifacts, digest, fast_load_digest, source, lean=lean)
        return model or load_model_folder(folder, digest, source)


def load_version(
    artifacts: ArtifactStore, version: ModelVersion, *, lean: bool = False
) -> LoadedModel:
    """Load a resolved model version: its folder, or the fast-load form it records
    (`lean`: its numpy form when it has one)."""
    return load_stored_model(
        artifacts, version.artifact_digest, version.uri, version.fast_load_digest, lean=lean
    )
