"""A local cache of loaded models whose safe format is slow to load.

skops checks every type in a model file against its list of trusted types, and building
that list imports the whole of scikit-learn: about 0.6 s and 20 MiB more than the model
itself needs, on every start. A model folder is content-addressed, and its skops file
passed that check the first time it was loaded here, so knot.registry.loading (the one
load path of `knot.load_model` and `knot serve`) keeps the loaded estimator pickled under
KNOT_HOME/cache/served/DIGEST.pkl, beside DIGEST.json (the folder's knot-model.json and
the versions of Python and of the packages the model needs). Later loads with the same
versions unpickle it and skip both the download and the audit. The cache is as trusted
as KNOT_HOME, which already holds the metadata store and the artifact blobs; an entry
that does not match (other versions, an unreadable or truncated file) is ignored, and
the next load writes it again. The KEEP most recently used entries are kept.

A model not in the cache yet is audited and loaded by a helper process that writes the
entry (`python -m knot.registry.forms.model_cache FOLDER DIGEST`), while the loading process
imports what unpickling needs, then reads the entry. So a service never imports
skops and its trust list, neither on its first start nor when it swaps to a new
version. If the helper fails, or cannot write the cache, the loading process loads the
folder itself (and reports the model's own error, if it has one).

A version registered with a fast-load form (knot.registry.forms.fast_load: the same header and
pickle, written by the registering process) does not need the helper even the first
time: `fast_load_model` reads the blob whose digest the version records, and fills the
cache from it. Who can write what:
- the metadata store (the root of trust) holds the version's folder digest and the
  form's digest, both written by whoever registered the version, who already decides
  what is unpickled here (a model saved as pickle is);
- the artifact store's blobs are verified against those digests as they are read, so a
  changed form raises Corrupted, is logged and never unpickled: the skops folder is
  loaded through the helper instead; a form written for other package or Python
  versions is skipped the same way;
- KNOT_HOME, and so this cache, is writable only by the user who loads the model.
An entry written from a fast-load form keeps its header, and so its numpy form
(knot.registry.forms.linear_form): `knot serve` asks for it (`lean`) and then never unpickles
the estimator nor imports scikit-learn; `knot.load_model` still gives the estimator.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knot.errors import Corrupted, KnotError
from knot.registry.forms.fast_load import FAST_FORMATS, LINEAR, header_of, parse, runtime_versions
from knot.registry.model_folder import (
    LoadedClassifier,
    LoadedModel,
    ModelMeta,
    load_folder,
    read_meta,
)

if TYPE_CHECKING:
    from knot.artifacts.store import ArtifactStore

__all__ = ["cache_dir", "cached_model", "fast_load_model", "load_model_folder", "remember_model"]

log = logging.getLogger("knot.registry")
KEEP = 16  # entries kept; the least recently used go first


def cache_dir() -> Path:
    from knot.config import settings

    return settings().home / "cache" / "served"


def _entry(folder: Path, digest: str, suffix: str) -> Path:
    return folder / f"{digest.replace(':', '-')}.{suffix}"


def _wrap(model: Any, meta: ModelMeta, source: str) -> LoadedModel:
    if callable(getattr(model, "predict_proba", None)):
        return LoadedClassifier(model, meta, source)
    return LoadedModel(model, meta, source)


def _numpy_form(
    header: dict[str, Any], meta: ModelMeta, digest: str, source: str
) -> LoadedModel | None:
    """The LoadedModel of the numpy form in `header` (a verified fast-load form's, or a
    cache entry's written from one), or None when it has none or it cannot be read: the
    caller then unpickles the estimator, as without a form."""
    if LINEAR not in header:
        return None
    from knot.registry.forms.linear_form import parse as parse_linear

    try:
        return _wrap(parse_linear(header[LINEAR]), meta, source)
    except KnotError as exc:
        log.warning("not using the numpy form of model %s: %s", digest, exc)
        return None


def cached_model(digest: str, source: str, *, lean: bool = False) -> LoadedModel | None:
    """The model of folder `digest` from the cache, or None when it has no usable entry.
    `lean`: its numpy form when the entry has one (knot serve), else the estimator."""
    folder = cache_dir()
    try:
        header = json.loads(_entry(folder, digest, "json").read_bytes())
        meta = ModelMeta.model_validate(header["meta"])
        if header["versions"] != runtime_versions(meta.saved.packages):
            return None
        form = _numpy_form(header, meta, digest, source) if lean else None
        if form is not None:
            _used(_entry(folder, digest, "json"))
            return form
        if meta.saved.format not in FAST_FORMATS:  # kept for its numpy form only
            return None
        with _entry(folder, digest, "pkl").open("rb") as f:
            model = pickle.load(f)  # written by remember_model: trusted as KNOT_HOME is
        _used(_entry(folder, digest, "json"))
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged entry is a miss, rewritten by the next load
        log.warning("ignoring the cached copy of model %s: %s", digest, exc)
        return None
    return _wrap(model, meta, source)


def _used(header: Path) -> None:
    """Mark an entry as just used: pruned last. The time is set from time.time_ns(), as
    the file system's own clock may tick coarsely enough to give two loads one time."""
    now = time.time_ns()
    os.utime(header, ns=(now, now))


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remember_model(digest: str, loaded: LoadedModel) -> None:
    """Cache `loaded` (folder `digest`) if its format is slow to load and it pickles."""
    if loaded.meta.saved.format not in FAST_FORMATS:
        return
    try:
        payload = pickle.dumps(loaded.model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable model: no cache, same model
        log.info("not caching model %s: %s", digest, exc)
        return
    _store_entry(digest, header_of(loaded.meta), payload)


def _store_entry(digest: str, header: dict[str, Any], payload: bytes) -> None:
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write(_entry(folder, digest, "pkl"), payload)
        _write(_entry(folder, digest, "json"), json.dumps(header).encode())  # last: the entry
        _used(_entry(folder, digest, "json"))
        _prune(folder)
    except OSError as exc:  # a read-only home: no cache, same model
        log.info("not caching model %s: %s", digest, exc)


def fast_load_model(
    artifacts: ArtifactStore, digest: str, fast_digest: str, source: str, *, lean: bool = False
) -> LoadedModel | None:
    """The model of folder `digest` from its fast-load form, blob `fast_digest` (read
    verified, then kept in the cache), or None when the form cannot be used: the blob is
    missing, does not match its digest, is not a fast-load form, or was written for
    other package versions than this environment's. `lean`: the numpy form the header
    holds, if any, instead of unpickling the estimator."""
    try:
        header, meta, payload = parse(artifacts.get_bytes(fast_digest))
    except Corrupted as exc:  # changed in the artifact store: never unpickled
        log.error("refusing the fast-load form of model %s: %s", digest, exc)
        return None
    except KnotError as exc:
        log.warning("not using the fast-load form of model %s: %s", digest, exc)
        return None
    mine = runtime_versions(meta.saved.packages)
    if header["versions"] != mine:
        theirs = {k: v for k, v in header["versions"].items() if mine.get(k) != v}
        log.info("the fast-load form of model %s is for other versions (%s)", digest, theirs)
        return None
    form = _numpy_form(header, meta, digest, source) if lean else None
    if form is not None:
        _store_entry(digest, header, payload)
        return form
    if meta.saved.format not in FAST_FORMATS:  # a pickle's form holds its numpy form only
        return None
    try:
        model = pickle.loads(payload)  # verified against the digest the registry recorded
    except Exception as exc:  # e.g. a class this environment lacks: the folder says why
        log.warning("could not load the fast-load form of model %s: %s", digest, exc)
        return None
    _store_entry(digest, header, payload)
    return _wrap(model, meta, source)


def _prune(folder: Path) -> None:
    """Remove all but the KEEP most recently used entries."""
    try:
        headers = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for header in headers[KEEP:]:
            header.unlink(missing_ok=True)
            header.with_suffix(".pkl").unlink(missing_ok=True)
    except OSError as exc:  # another service pruned the same entry first, or no cache
        log.info("could not prune the served-model cache: %s", exc)


def load_model_folder(folder: Path, digest: str, source: str) -> LoadedModel:
    """Load the downloaded model folder `digest`: through the helper process and the
    cache for slow formats, else (or if that did not work) here."""
    meta = read_meta(folder)
    loaded = None
    if meta.saved.format in FAST_FORMATS:
        loaded = _load_in_helper(folder, digest, source, FAST_FORMATS[meta.saved.format])
    if loaded is None:
        loaded = load_folder(folder, source)
        remember_model(digest, loaded)
    _prune(cache_dir())
    return loaded


def _load_in_helper(folder: Path, digest: str, source: str, module: str) -> LoadedModel | None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    helper = subprocess.Popen(
        [sys.executable, "-m", "knot.registry.forms.model_cache", str(folder), digest],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    importlib.import_module(module)  # meanwhile, on the other core
    _, err = helper.communicate()
    if helper.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        log.warning("the helper could not load model %s (%s); loading it here", digest, tail[0])
        return None
    return cached_model(digest, source)


if __name__ == "__main__":  # the helper: audit and load a folder, write its cache entry
    remember_model(sys.argv[2], load_folder(Path(sys.argv[1]), sys.argv[2]))
