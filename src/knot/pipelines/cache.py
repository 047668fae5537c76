"""The step cache: a key from what determines a step's output, and the table mapping it
to the output's digest.

cache key = sha256(step code digest + canonical parameters + input digests), as
Hamilton does it. What invalidates an entry: a change to the step's code (its source,
defaults included; see knot.pipelines.steps), to any parameter value, or to the
content of any input (an upstream output with another digest). The digests in the
key are the same ones lineage records, so caching and lineage are one mechanism.

A cached output is read through before it is reused: a blob that is missing, or bytes
(inline or a blob) that no longer match its digest, are a cache miss with a warning,
never a wrong value.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from knot.errors import Corrupted, Invalid, NotFound
from knot.pipelines.tables import pipeline_cache
from knot.pipelines.values import StoredValue, encode_value, stored_bytes
from knot.store.database import now_ms
from knot.store.prepared import Prepared

if TYPE_CHECKING:
    from knot.artifacts import ArtifactStore

__all__ = [
    "CacheEntry",
    "CacheWarning",
    "cache_key",
    "canonical",
    "lookup",
    "record",
    "usable",
]

_FORMAT = 1  # bump to invalidate every key when the recipe below changes


class CacheWarning(UserWarning):
    """A cached output could not be reused (missing or corrupted); the step runs again."""


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    step: str
    output: StoredValue
    run_id: str
    created_at: int


def cache_key(code_digest: str, arguments: dict[str, Any]) -> str:
    """The key of one step call: its code digest and its bound arguments, where inputs
    are StoredValue markers (named by digest) and the rest are parameters."""
    body = {
        "format": _FORMAT,
        "code": code_digest,
        "args": {name: canonical(value, name) for name, value in arguments.items()},
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: Any, name: str = "value") -> Any:
    """A JSON value that is equal for equal arguments and differs when they differ."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, StoredValue):
        return {"$input": value.digest}
    if isinstance(value, list):
        return [canonical(v, name) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [canonical(v, name) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"$dict": {k: canonical(v, name) for k, v in value.items()}}
        pairs = [[canonical(k, name), canonical(v, name)] for k, v in value.items()]
        return {"$map": sorted(pairs, key=_sort_key)}
    if isinstance(value, set | frozenset):
        return {"$set": sorted((canonical(v, name) for v in value), key=_sort_key)}
    return _canonical_object(value, name)


def _canonical_object(value: Any, name: str) -> Any:
    import numpy as np
    from pydantic import BaseModel

    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if isinstance(value, bytes | bytearray):
        return {"$bytes": hashlib.sha256(value).hexdigest()}
    if isinstance(value, PurePath):
        return {"$path": str(value)}
    if isinstance(value, enum.Enum):
        return {"$enum": f"{kind}.{value.name}"}
    if isinstance(value, np.generic):
        return canonical(value.item(), name)
    if isinstance(value, BaseModel):
        return {"$model": kind, "value": value.model_dump(mode="json")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: canonical(getattr(value, f.name), name) for f in dataclasses.fields(value)
        }
        return {"$dataclass": kind, "value": fields}
    try:
        # Frames and arrays by their stored bytes; other objects by their pickle.
        stored_kind, data = encode_value(value)
    except Invalid:
        raise Invalid(
            f"parameter {name!r} is a {kind}, which Knot cannot fingerprint for the cache "
            "key (it does not pickle); pass plain values, or make it a step's output",
            field=name,
        ) from None
    return {"$value": stored_kind, "digest": hashlib.sha256(data).hexdigest()}


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def lookup(conn: Connection, key: str) -> CacheEntry | None:
    row = _LOOKUP.first(conn, {"key": key})
    if row is None:
        return None
    cache_key, step, digest, kind, run_id, created_at, data = row
    return CacheEntry(
        cache_key=cache_key,
        step=step,
        output=StoredValue(digest, kind, data),
        run_id=run_id,
        created_at=created_at,
    )


def record(conn: Connection, key: str, step: str, output: StoredValue, run_id: str) -> None:
    """Remember that `key` produced `output` (the latest run wins)."""
    values = {
        "cache_key": key,
        "step": step,
        "output_digest": output.digest,
        "output_kind": output.kind,
        "output_data": output.data,
        "run_id": run_id,
        "created_at": now_ms(),
    }
    statement = _PG_RECORD if conn.dialect.name == "postgresql" else _SQLITE_RECORD
    statement.run(conn, values)


# Built once: the per-step path of a pipeline runs these.
_LOOKUP = Prepared(
    select(
        pipeline_cache.c.cache_key,
        pipeline_cache.c.step,
        pipeline_cache.c.output_digest,
        pipeline_cache.c.output_kind,
        pipeline_cache.c.run_id,
        pipeline_cache.c.created_at,
        pipeline_cache.c.output_data,
    ).where(pipeline_cache.c.cache_key == bindparam("key"))
)


def _upsert(dialect: Any) -> Any:
    statement = dialect.insert(pipeline_cache)
    columns = ("step", "output_digest", "output_kind", "output_data", "run_id", "created_at")
    return statement.on_conflict_do_update(
        index_elements=["cache_key"], set_={c: statement.excluded[c] for c in columns}
    )


_PG_RECORD = Prepared(_upsert(postgresql))
_SQLITE_RECORD = Prepared(_upsert(sqlite))


def usable(output: StoredValue, store: ArtifactStore, step: str) -> bool:
    """True if the stored output is intact. A missing or corrupted output warns; a
    corrupted blob is deleted so the step's fresh output can be stored under its digest
    again (a corrupted inline one is replaced by the fresh output's cache entry)."""
    try:
        if output.data is None:
            store.verify(output.digest)
        else:
            stored_bytes(output, store)
        return True
    except NotFound:
        problem = "is missing from the artifact store"
    except Corrupted:
        where = "artifact" if output.data is None else "metadata"
        problem = f"is corrupted in the {where} store (its bytes no longer match the digest)"
        if output.data is None:
            store.delete(output.digest)
    warnings.warn(
        f"the cached output {output.digest} of step {step!r} {problem}; running the step again",
        CacheWarning,
        stacklevel=2,
    )
    return False
