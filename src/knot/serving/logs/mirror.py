"""A local copy of a model's logs from a shared store, for the readers that scan folders
(pyarrow datasets, DuckDB): the monitor, the canary judge, label checks, skew checks.

Each process keeps its own copy in a temp folder (removed at exit), so no other process
deletes a file it is reading; a sync downloads the files it lacks and drops the ones
gone from the store. A file compacted away between the listing and its download makes
the sync list again: the merged file that replaced it is then listed. Parts that a
merged file replaces are not copied (nor kept) at all.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from knot.errors import NotFound, Unavailable
from knot.refs import MODEL_NAME_PATTERN, check_model_name
from knot.serving.logs.merged import is_merged, replaced_by
from knot.serving.logs.shared import (
    LABEL_FILE,
    PREDICTION_FILE,
    FolderLogStore,
    LogStore,
    log_store,
)

__all__ = [
    "Mirror",
    "label_scan",
    "local_root",
    "logged_models",
    "mirror_of",
    "readable_root",
    "shared_store",
]

if TYPE_CHECKING:
    from knot.serving.logs.label_checks import LogScan

_SYNC_ATTEMPTS = 5
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


class Mirror:
    """This process's copy of the logs in `store`, under `root`."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self.root = Path(tempfile.mkdtemp(prefix="knot-logs-"))
        self._lock = threading.Lock()
        atexit.register(shutil.rmtree, self.root, True)

    def sync(self, model: str, *, labels: bool = True, replaced: bool = False) -> Path:
        """Bring the copy of `model`'s predictions (and labels) up to date; returns root.
        `replaced`: copy the parts merged files replace too (compaction needs them)."""
        name = check_model_name(model)
        with self._lock:
            for _ in range(_SYNC_ATTEMPTS):
                try:
                    self._sync(f"model={name}/", PREDICTION_FILE, replaced)
                    if labels:
                        self._sync(f"labels/model={name}/", LABEL_FILE, replaced)
                    return self.root
                except NotFound:
                    continue  # compacted meanwhile: list again
        raise Unavailable(
            f"the logs of model {name!r} in {self.store.uri} kept changing while being "
            f"read ({_SYNC_ATTEMPTS} tries); try again, and check that only one compaction "
            "job runs"
        )

    def _sync(self, prefix: str, pattern: re.Pattern[str], replaced: bool) -> None:
        # a key of another layout (or a hostile one) never names a local file
        wanted = {k for k in self.store.keys(prefix) if pattern.fullmatch(k[len(prefix) :])}
        folder = self.root / prefix
        have = {
            p.relative_to(self.root).as_posix()
            for p in folder.glob("**/part-*.parquet")
            if not p.name.startswith(".")
        }
        # merged files first: the parts they replace need no copy (and lose theirs)
        merged = sorted(k for k in wanted if is_merged(k.rsplit("/", 1)[1]))
        self._fetch(sorted(set(merged) - have))
        for key in [] if replaced else merged:
            folder_key = key.rsplit("/", 1)[0]
            wanted -= {f"{folder_key}/{name}" for name in replaced_by(self.root / key)}
        self._fetch(sorted(wanted - have - set(merged)))
        for key in have - wanted:
            (self.root / key).unlink(missing_ok=True)

    def _fetch(self, keys: list[str]) -> None:
        for key in keys:
            target = self.root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f".{target.name}.tmp"  # readers skip dot files
            tmp.write_bytes(self.store.get(key))
            os.replace(tmp, target)


_MIRRORS: dict[str, Mirror] = {}
_MIRRORS_LOCK = threading.Lock()
_PID = os.getpid()


def mirror_of(store: LogStore) -> Mirror:
    """This process's Mirror of `store` (a forked worker makes its own)."""
    global _PID
    with _MIRRORS_LOCK:
        if os.getpid() != _PID:  # inherited from the parent: not ours to share
            _MIRRORS.clear()
            _PID = os.getpid()
        found = _MIRRORS.get(store.uri)
        if found is None:
            found = _MIRRORS[store.uri] = Mirror(store)
        return found


def readable_root(model: str, root: Path | None = None) -> Path:
    """The folder that holds `model`'s logs for reading: `root` when given; else the
    shared log store's folder, or this process's synced copy of an S3 store; else the
    local KNOT_HOME/predictions."""
    if root is not None:
        return root
    store = shared_store()
    return local_root() if store is None else mirror_of(store).sync(model)


def shared_store() -> LogStore | None:
    """The log store replicas write to directly (S3); None when logs go to a folder."""
    store = log_store()
    return None if store is None or isinstance(store, FolderLogStore) else store


def local_root() -> Path:
    """The folder logs are written to when no S3 log store is set: KNOT_LOGS when it
    names a folder, else KNOT_HOME/predictions."""
    store = log_store()
    if isinstance(store, FolderLogStore):
        return store.root
    from knot.config import settings

    return settings().home / "predictions"  # knot.serving.logs.predictions.default_log_dir


def logged_models(root: Path | None = None) -> list[str]:
    """The names of the models with a prediction log (in `root`, else where logs go)."""
    store = shared_store() if root is None else None
    if store is None:
        base = root if root is not None else local_root()
        return sorted(p.name.removeprefix("model=") for p in base.glob("model=*"))
    names = {key.split("/", 1)[0].removeprefix("model=") for key in store.keys("model=")}
    return sorted(n for n in names if _MODEL_NAME.fullmatch(n))


def label_scan(model: str, store: LogStore | None, root: Path) -> LogScan:
    """Where labels for `model` look up the requests they are for: the log under `root`,
    or (with a shared `store`) this process's copy of it, brought up to date each look."""
    from knot.serving.logs.label_checks import LogScan

    if store is None:
        return LogScan(model, root)
    mirror = mirror_of(store)
    return LogScan(model, mirror.root, refresh=lambda: mirror.sync(model, labels=False))
