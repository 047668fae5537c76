"""Where served models come from. A reference is parsed once (`parse_source`): a
`models:/` ModelRef resolves through the registry and loads through the registry's own
load path (knot.registry.loading, the one `knot.load_model` uses, with its cache); an
`oci://` KitRef serves a ModelKit through knot.packaging; other schemes plug in with
`register_source(scheme, loader)`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from knot.errors import Invalid
from knot.refs import KitRef, ModelRef, parse_kit_ref, parse_model_ref
from knot.registry.entities import ModelVersion, Signature
from knot.registry.loading import load_version
from knot.registry.model_folder import LoadedModel

if TYPE_CHECKING:
    from knot.serving.inputs.feature_inputs import FeatureInputs

__all__ = [
    "Plan",
    "PluginSource",
    "ServedModel",
    "Source",
    "SourceLoader",
    "forget_preloaded",
    "load_source",
    "parse_source",
    "preload",
    "register_source",
    "resolve_source",
]


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and who it is: name, version and the digest of its folder."""

    name: str
    version: int
    digest: str
    model: LoadedModel
    features: FeatureInputs | None = None  # inputs fetched from a feature service
    takes_array: bool = False  # predict takes the columns' 2-D block (serving.array_input)

    @property
    def signature(self) -> Signature | None:
        return self.model.signature

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class PluginSource:
    """A reference whose scheme a plugin registered: loaded by that loader from `text`."""

    scheme: str
    text: str

    def __str__(self) -> str:
        return self.text


#: What a service can serve, parsed.
Source = ModelRef | KitRef | PluginSource
#: uri -> ServedModel. Registered per scheme (the text before "://" or ":/").
SourceLoader = Callable[[str], ServedModel]

_SOURCES: dict[str, SourceLoader] = {}
#: source -> a model loaded before this process forked its workers (knot.serving.workers)
_PRELOADED: dict[Source, ServedModel] = {}


def register_source(scheme: str, loader: SourceLoader) -> None:
    """Serve `scheme://...` references with `loader` (models: and oci: are built in)."""
    _SOURCES[scheme.lower()] = loader


def _scheme(text: str) -> str:
    return text.split(":", 1)[0].strip().lower() if ":" in text else ""


def parse_source(text: object, *, field: str = "model") -> Source:
    """The typed reference `text` names; Invalid says which references can be served."""
    scheme = _scheme(text) if isinstance(text, str) else ""
    if scheme == "models":
        return parse_model_ref(text, field=field)
    if scheme == "oci":
        return parse_kit_ref(text, field=field)
    if scheme in _SOURCES:
        assert isinstance(text, str)
        return PluginSource(scheme, text)
    if isinstance(text, str) and "/" not in text and scheme:
        # NAME:TAG, as `knot kits list` prints a kit of the local store
        try:
            return parse_kit_ref(f"oci://{text.strip()}", field=field)
        except Invalid:
            pass  # not a kit tag either: say what can be served
    known = ", ".join(f"{s}:" for s in sorted({"models", "oci", *_SOURCES}))
    raise Invalid(
        f"cannot serve {text!r}: its scheme is not one of {known}; serve a registered "
        "model as models:/NAME@ALIAS or models:/NAME/VERSION, a ModelKit as "
        "oci://REGISTRY/REPOSITORY:TAG, or a kit of the local store as NAME:TAG",
        field=field,
    )


def resolve_source(source: Source) -> ModelVersion | None:
    """The registered version a models:/ reference names now (NotFound says what exists);
    None for sources that have no version to resolve. A ModelKit is pulled into the local
    kit store (a remote one) and looked up there, so a kit that cannot be had fails here,
    before a service starts, not in its worker."""
    if isinstance(source, KitRef):
        _find_kit(source)
        return None
    if not isinstance(source, ModelRef):
        return None
    from knot.registry.fluent import registry

    return registry().resolve(source)


@dataclass(frozen=True)
class Plan:
    """What a service serves, parsed once from its config: the champion's and the
    challenger's references, and the version the champion resolved to when `knot serve`
    started (None: resolved as it is loaded, as by a worker started later)."""

    model: Source
    challenger: Source | None = None
    version: ModelVersion | None = None

    @classmethod
    def parse(cls, model: str, challenger: str | None = None, *, resolve: bool = False) -> Plan:
        """Parse a service's references (ServeConfig.model and .challenger); with
        `resolve`, also resolve the champion now, so a reference that names nothing fails
        before the service starts."""
        source = parse_source(model)
        second = None if challenger is None else parse_source(challenger, field="challenger")
        return cls(source, second, resolve_source(source) if resolve else None)

    @property
    def registered_name(self) -> str | None:
        """The registered model served (its traffic record's key), else None."""
        return self.model.name if isinstance(self.model, ModelRef) else None


def _load_registered(ref: ModelRef, version: ModelVersion | None) -> ServedModel:
    from knot.tracking.fluent import session

    if version is None:
        version = resolve_source(ref)
        assert version is not None
    from knot.serving.inputs.feature_inputs import feature_inputs_for

    model = load_version(session().artifacts, version, lean=True)  # a numpy form, if any
    features = feature_inputs_for(version.name, version.version, model.signature)
    return ServedModel(version.name, version.version, version.artifact_digest, model, features)


def _find_kit(ref: KitRef) -> str:
    """The local store's reference of kit `ref`, pulled first when it names a registry;
    NotFound or Unavailable say why it cannot be had."""
    from knot.packaging.layout import open_kit_store
    from knot.packaging.transfer import pull

    store = open_kit_store()
    text = str(ref)
    if ref.registry is not None:
        text = pull(text, store=store).reference
    store.resolve(text)
    return text


def _load_kit(ref: KitRef) -> ServedModel:
    """A ModelKit, `oci://REGISTRY/REPO:TAG` (pulled, digests verified) or `oci://NAME:TAG`
    from the local kit store. With KNOT_KIT_PUBLIC_KEY set, unsigned or badly signed kits
    are refused before anything is loaded."""
    from knot.packaging.layout import open_kit_store
    from knot.packaging.loading import load_model_from_kit
    from knot.packaging.transfer import pull
    from knot.packaging.unpack import kitfile_of

    store = open_kit_store()
    text = str(ref)
    if ref.registry is not None:
        text = pull(text, store=store).reference
    digest, manifest = store.resolve(text)
    package = kitfile_of(store, manifest).package
    key = os.environ.get("KNOT_KIT_PUBLIC_KEY")
    model = load_model_from_kit(text, public_key=Path(key) if key else None, store=store)
    name = package.name if package is not None and package.name else text
    raw = package.version if package is not None else None
    version = int(raw) if raw is not None and str(raw).isdigit() else 0
    return ServedModel(name, version, digest, model)


def preload(source: Source, served: ServedModel) -> None:
    """Make the next `load_source(source)` of this process (and of each process forked
    from it) return `served` instead of loading it again."""
    _PRELOADED[source] = served


def forget_preloaded() -> None:
    """Drop preloaded models: later loads, and later forks, go to the source again."""
    _PRELOADED.clear()


def load_source(source: Source | str, version: ModelVersion | None = None) -> ServedModel:
    """Load what `source` names (a preloaded model once). `version`: the version a
    models:/ reference already resolved to, so it is not resolved again."""
    if isinstance(source, str):
        source = parse_source(source)
    preloaded = _PRELOADED.pop(source, None)
    if preloaded is not None:
        return preloaded
    if isinstance(source, ModelRef):
        return _load_registered(source, version)
    if isinstance(source, KitRef):
        return _load_kit(source)
    loader = _SOURCES.get(source.scheme)
    if loader is None:  # unregistered since it was parsed
        known = f"{source.scheme}:"
        raise Invalid(f"cannot serve {source.text!r}: nothing loads {known}", field="model")
    return loader(source.text)
