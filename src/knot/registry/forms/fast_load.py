"""The fast-load form of a model whose safe format is slow to load.

A skops file is loaded by checking every type in it against a trust list, and building
that list imports all of scikit-learn (about 2 s here). When a version is registered,
the registering process has just saved the model through skops (and loaded the file
back, as the flavor's save checks), so it also writes that estimator as a pickle with
a header (this Python's version, the versions of the packages the model needs, and the
folder's knot-model.json): one
content-addressed blob in the artifact store, whose digest the version records in the
metadata store (`ModelVersion.fast_load_digest`). A service serving the version for the
first time on a machine reads that blob instead of the skops file (see
knot.registry.forms.model_cache, which keeps the same header and pickle in its local cache).

Who can write what, and so what the form is trusted for:
- The metadata store is the root of trust. Only a principal allowed to register versions
  writes `fast_load_digest`, beside `artifact_digest`; the same principal already decides
  what a service unpickles (a folder saved as pickle is unpickled on load), so the form
  gives no one a way to run code they did not have.
- The artifact store's blobs are checked against their digest on every read: a blob
  changed by anyone who can write the store but not the metadata raises Corrupted, and
  the service then loads the skops folder instead; an unverified pickle is never loaded.
- A form written for other package or Python versions is not used (pickles of
  scikit-learn estimators are only valid for the versions that wrote them).
- The header may hold the model's numpy form (knot.registry.forms.linear_form): coefficients
  as JSON, read strictly, never unpickled; `knot serve` uses it instead of the pickle,
  under the same digest and version checks. A model saved as a plain pickle gets a form
  only when it has a numpy form, and only for that: its pickle is loaded from its folder.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import pickle
import sys
from pathlib import Path
from typing import Any

from knot.errors import Invalid
from knot.registry.model_folder import ModelMeta, load_folder

__all__ = ["FAST_FORMATS", "LINEAR", "build", "encode", "header_of", "parse", "runtime_versions"]

log = logging.getLogger("knot.registry")
#: formats whose load costs much more than unpickling -> the module unpickling imports
FAST_FORMATS = {"skops": "sklearn"}
_MAGIC = b"knot-fast-load/1\n"
LINEAR = "linear"  # the header's key of the model's numpy form, when it has one


def runtime_versions(packages: list[str]) -> dict[str, str | None]:
    """This Python's full version and the installed versions of `packages` and numpy:
    what a pickle of the model depends on."""
    out: dict[str, str | None] = {"python": sys.version}
    for name in sorted({*packages, "numpy"}):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def header_of(meta: ModelMeta) -> dict[str, Any]:
    """The header of `meta`'s model pickled in this environment."""
    return {"versions": runtime_versions(meta.saved.packages), "meta": meta.model_dump(mode="json")}


def encode(model: Any, header: dict[str, Any]) -> bytes:
    """One blob: the magic line, the header as one line of JSON, then the pickle."""
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return _MAGIC + json.dumps(header).encode() + b"\n" + payload


def parse(blob: bytes) -> tuple[dict[str, Any], ModelMeta, bytes]:
    """(header, its model meta, the pickle) of a blob written by `encode`; Invalid if it
    is not one. Nothing is unpickled here."""
    if not blob.startswith(_MAGIC) or b"\n" not in blob[len(_MAGIC) :]:
        raise Invalid(
            "this blob is not a Knot fast-load form (its first line is not "
            f"{_MAGIC.strip().decode()!r}); register the model again to write one",
            field="fast_load_digest",
        )
    line, payload = blob[len(_MAGIC) :].split(b"\n", 1)
    try:
        header = json.loads(line)
        meta = ModelMeta.model_validate(header["meta"])
        if not isinstance(header["versions"], dict):
            raise TypeError("versions is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid(
            f"the header of this fast-load form is malformed ({exc}); register the model "
            "again to write one",
            field="fast_load_digest",
        ) from None
    return header, meta, payload


def build(folder: Path, meta: ModelMeta, model: Any = None, example: Any = None) -> bytes | None:
    """The fast-load form of the model saved in `folder`: `model` itself when the caller
    has just saved it (its flavor's save checked that the file loads back to it), else
    the folder loaded through its flavor as a service would load it; None for formats
    that load fast anyway, or a model that does not pickle (it is then served from its
    folder, as before). The header also holds the model's numpy form when it is a linear
    model the form predicts exactly (checked on `example`, its input example, and on
    rows made from it; knot.registry.forms.linear_form)."""
    # a scikit-learn pickle loads fast, but imports scikit-learn: its form is written
    # for the numpy form alone, when it has one, and only by log_model, which holds the
    # estimator (register_model does not unpickle a folder logged by anyone to find out)
    pickled = meta.flavor == "sklearn" and meta.saved.format == "pickle" and model is not None
    if meta.saved.format not in FAST_FORMATS and not pickled:
        return None
    try:
        estimator = model if model is not None else load_folder(folder, "fast-load").model
        header = header_of(meta)
        linear = _linear(estimator, example) if meta.flavor == "sklearn" else None
        if linear is None and pickled:
            return None
        if linear is not None:
            header[LINEAR] = linear
        return encode(estimator, header)
    except Exception as exc:  # an unpicklable estimator: no fast form, same model
        log.info("no fast-load form for this %s model: %s", meta.flavor, exc)
        return None


def _linear(estimator: Any, example: Any) -> dict[str, Any] | None:
    """The numpy form of `estimator`, or None; a form that fails to build never costs
    the version its pickle."""
    from knot.registry.forms.linear_form import derive

    try:
        return derive(estimator, example)
    except Exception as exc:
        log.info("no numpy form for this model: %s", exc)
        return None
