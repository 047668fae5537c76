"""Compaction of a model's prediction and label logs: the many small parts the services
write (about one per second per worker, one per /feedback call) merged into few files,
so the number of files stays bounded while replicas keep writing.

Per folder (model=NAME/version=V/date=D and labels/model=NAME/date=D): the parts
smaller than `target_bytes` are merged, in name order, into part-merged-<ns>-<id>.parquet
files of about that size, each listing the parts it replaces in its metadata
(knot.serving.logs.merged); readers skip replaced parts from then on. A replaced part
is deleted once the file that replaced it is `grace_s` old, so a reader that listed the
folder just before the merge can still read it; a part written after the listing is
left for the next run. Nothing is read twice or lost in any state a crash leaves.
Run one compaction of a model at a time (the CronJob that `knot deploy kubernetes`
writes never starts a second).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knot.errors import Invalid
from knot.refs import check_model_name
from knot.serving.logs.merged import MERGED_PREFIX, REPLACES_KEY, is_merged, replaced_by
from knot.serving.logs.shared import FolderLogStore, LogStore, log_store

__all__ = ["CompactResult", "compact"]

_MIB = 2**20


@dataclass
class CompactResult:
    """What one compaction of a model did."""

    model: str
    store: str
    merged: int = 0  # parts merged (replaced) in this run
    written: int = 0  # merged files written
    deleted: int = 0  # replaced files deleted
    files: int = 0  # files left that readers read
    folders: list[str] = field(default_factory=list)


def compact(
    model: str,
    store: LogStore | None = None,
    *,
    target_bytes: int = 64 * _MIB,
    grace_s: float = 300.0,
) -> CompactResult:
    """Merge `model`'s small log parts in `store` (default: where the services log) and
    delete the parts replaced at least `grace_s` seconds ago."""
    from knot.serving.logs.mirror import mirror_of
    from knot.serving.logs.predictions import default_log_dir

    name = check_model_name(model)
    if target_bytes < 1 or grace_s < 0:
        raise Invalid(
            f"target size {target_bytes} bytes and grace {grace_s} s must be positive; "
            "e.g. --target-mb 64 --grace 300",
            field="target_bytes" if target_bytes < 1 else "grace_s",
        )
    if store is None:
        store = log_store() or FolderLogStore(default_log_dir())
    result = CompactResult(name, store.uri)

    def view() -> Path:  # the files as they are now, readable locally
        if isinstance(store, FolderLogStore):
            return store.root
        return mirror_of(store).sync(name, replaced=True)

    root = view()
    for folder in _folders(root, name):
        result.folders.append(folder.relative_to(root).as_posix())
        for batch in _batches(_live(folder), target_bytes):
            _merge(store, root, folder, batch)
            result.merged += len(batch)
            result.written += 1
    root = view()  # the merged files just written count for the deletions
    now = time.time_ns()
    for folder in _folders(root, name):
        doomed = _replaced_before(folder, now - int(grace_s * 1e9))
        # plain parts before merged ones: a merged file goes only once nothing it replaced
        # is left for it to hide
        for f in sorted(doomed, key=lambda p: (is_merged(p.name), p.name)):
            store.delete(f.relative_to(root).as_posix())
            result.deleted += 1
    root = view()
    result.files = sum(len(_live(folder)) for folder in _folders(root, name))
    return result


def _folders(root: Path, name: str) -> list[Path]:
    predictions = (root / f"model={name}").glob("version=*/date=*")
    labels = (root / "labels" / f"model={name}").glob("date=*")
    return sorted(f for f in [*predictions, *labels] if f.is_dir())


def _parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("part-*.parquet") if not p.name.startswith("."))


def _replacements(parts: list[Path]) -> dict[str, list[int]]:
    """Each replaced name -> the write times (ns) of the merged files replacing it."""
    out: dict[str, list[int]] = {}
    for f in parts:
        if is_merged(f.name):
            written = int(f.name.removeprefix(MERGED_PREFIX).split("-", 1)[0])
            for replaced in replaced_by(f):
                out.setdefault(replaced, []).append(written)
    return out


def _live(folder: Path) -> list[Path]:
    parts = _parts(folder)
    replaced = _replacements(parts)
    return [f for f in parts if f.name not in replaced]


def _replaced_before(folder: Path, cutoff_ns: int) -> list[Path]:
    parts = _parts(folder)
    replaced = _replacements(parts)
    return [f for f in parts if f.name in replaced and min(replaced[f.name]) <= cutoff_ns]


def _batches(live: list[Path], target_bytes: int) -> Iterable[list[Path]]:
    """Runs of consecutive small parts of one schema, of about `target_bytes` together
    (a service that got other columns wrote another schema); a lone part stays."""
    import pyarrow.parquet as pq

    batch: list[Path] = []
    size, schema = 0, None
    for f in live:
        n = f.stat().st_size
        if n >= target_bytes:
            continue
        this = pq.read_schema(f).remove_metadata()
        if batch and (size + n > target_bytes or this != schema):
            if len(batch) > 1:
                yield batch
            batch, size = [], 0
        batch.append(f)
        size, schema = size + n, this
    if len(batch) > 1:
        yield batch


def _merge(store: LogStore, root: Path, folder: Path, batch: list[Path]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # ParquetFile, not read_table: a part's path must not add hive partition columns
    tables = [pq.ParquetFile(f).read() for f in batch]
    table = pa.concat_tables(tables)
    # every replaced name still present is listed again, so that whichever of the merged
    # files survives a crash hides all the parts whose rows it holds
    replaces = sorted({f.name for f in batch} | set(_replacements(_parts(folder))))
    meta = dict(table.schema.metadata or {})
    meta[REPLACES_KEY] = json.dumps(replaces).encode()
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    name = f"{MERGED_PREFIX}{time.time_ns():020d}-{secrets.token_hex(4)}.parquet"
    store.put((folder / name).relative_to(root).as_posix(), sink.getvalue().to_pybytes())
