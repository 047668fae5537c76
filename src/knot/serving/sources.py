"""Where served models come from. `models:/` URIs resolve through the registry; other
schemes plug in with `register_source(scheme, loader)`; `oci://` serves a ModelKit
through knot.packaging.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knot.errors import Invalid
from knot.refs import parse_model_ref
from knot.registry.entities import Signature
from knot.registry.model_folder import LoadedModel
from knot.serving.model_cache import cached_model, fast_load_model, load_model_folder

__all__ = [
    "ServedModel",
    "SourceLoader",
    "forget_preloaded",
    "load_source",
    "preload",
    "register_source",
    "watched_alias",
]


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and who it is: name, version and the digest of its folder."""

    name: str
    version: int
    digest: str
    model: LoadedModel

    @property
    def signature(self) -> Signature | None:
        return self.model.signature

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


#: uri -> ServedModel. Registered per scheme (the text before "://" or ":/").
SourceLoader = Callable[[str], ServedModel]


def _load_registered(uri: str) -> ServedModel:
    from knot.registry.fluent import registry
    from knot.tracking.fluent import session

    version = registry().resolve(uri)
    digest = version.artifact_digest
    model = cached_model(digest, version.uri)
    if model is None and version.fast_load_digest is not None:
        fast = version.fast_load_digest  # checked as it is read: see knot.registry.fast_load
        model = fast_load_model(session().artifacts, digest, fast, version.uri)
    if model is None:
        with tempfile.TemporaryDirectory(prefix="knot-serve-") as tmp:
            session().artifacts.download_folder(digest, tmp)
            model = load_model_folder(Path(tmp), digest, version.uri)
    return ServedModel(version.name, version.version, digest, model)


def _load_kit(uri: str) -> ServedModel:
    """A ModelKit, `oci://REGISTRY/REPO:TAG` (pulled, digests verified) or `oci://NAME:TAG`
    from the local kit store. With KNOT_KIT_PUBLIC_KEY set, unsigned or badly signed kits
    are refused before anything is loaded."""
    from knot.packaging.layout import open_kit_store
    from knot.packaging.loading import load_model_from_kit
    from knot.packaging.transfer import pull
    from knot.packaging.unpack import kitfile_of
    from knot.refs import parse_kit_ref

    store = open_kit_store()
    text = uri.removeprefix("oci://")
    if parse_kit_ref(text).registry is not None:
        text = pull(text, store=store).reference
    digest, manifest = store.resolve(text)
    package = kitfile_of(store, manifest).package
    key = os.environ.get("KNOT_KIT_PUBLIC_KEY")
    model = load_model_from_kit(text, public_key=Path(key) if key else None, store=store)
    name = package.name if package is not None and package.name else text
    raw = package.version if package is not None else None
    version = int(raw) if raw is not None and str(raw).isdigit() else 0
    return ServedModel(name, version, digest, model)


_SOURCES: dict[str, SourceLoader] = {"models": _load_registered, "oci": _load_kit}
#: uri -> a model loaded before this process forked its workers (see knot.serving.workers)
_PRELOADED: dict[str, ServedModel] = {}


def register_source(scheme: str, loader: SourceLoader) -> None:
    """Serve `scheme://...` references with `loader` (e.g. "oci" for ModelKits)."""
    _SOURCES[scheme] = loader


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].lower() if isinstance(uri, str) and ":" in uri else ""


def preload(uri: str, served: ServedModel) -> None:
    """Make the next `load_source(uri)` of this process (and of each process forked from
    it) return `served` instead of loading it again."""
    _PRELOADED[uri] = served


def forget_preloaded() -> None:
    """Drop preloaded models: later loads, and later forks, go to the source again."""
    _PRELOADED.clear()


def load_source(uri: str) -> ServedModel:
    """Load what `uri` names, with the loader registered for its scheme (once, for a
    preloaded model)."""
    preloaded = _PRELOADED.pop(uri, None)
    if preloaded is not None:
        return preloaded
    loader = _SOURCES.get(_scheme(uri))
    if loader is None:
        known = ", ".join(f"{s}:" for s in sorted(_SOURCES))
        raise Invalid(
            f"cannot serve {uri!r}: its scheme is not one of {known}; serve a registered "
            "model as models:/NAME@ALIAS or models:/NAME/VERSION",
            field="model",
        )
    return loader(uri)


def watched_alias(uri: str) -> tuple[str, str] | None:
    """(name, alias) when `uri` follows an alias (models:/NAME@ALIAS), else None."""
    if _scheme(uri) != "models":
        return None
    ref = parse_model_ref(uri)
    return (ref.name, ref.followed_alias) if ref.followed_alias is not None else None
