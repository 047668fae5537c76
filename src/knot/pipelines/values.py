"""Step outputs, content-addressed: how each kind of value is stored and loaded.

  pandas DataFrame, pyarrow Table   -> Parquet           (kind "parquet")
  NumPy array (not of objects)      -> .npy              (kind "npy")
  knot ModelVersion / DatasetVersion -> a reference: the name, version and digest as
                                       JSON; loading it reads the registry or the
                                       dataset store  (kinds "model_version", "dataset")
  anything else                     -> pickle            (kind "pickle")

An output's identity is the sha256 digest of its encoded bytes, wherever they are kept.
Bytes up to INLINE_LIMIT stay inline: in the StoredValue, and from there in the step's
row and cache entry of the metadata store, durable with the step's commit and with no
file to write and flush (a trivial step's output is a few bytes; a file of its own, made
durable, cost more than the rest of the step). Larger outputs are blobs in the artifact
store. Either way the bytes are checked against the digest on every read.

Trust boundary: loading a "pickle" output runs whatever code the pickle names, like any
pickle. Blobs are checked against their digest on every read, so nobody can swap the
bytes under a digest, but whoever can write to the metadata store (the cache table) and
the artifact store can make a pipeline load a pickle of their choosing. Give write access
to those stores only to people you would let run code in your pipelines.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict

from knot.errors import Corrupted, Invalid

if TYPE_CHECKING:
    from knot.artifacts import ArtifactStore

__all__ = [
    "INLINE_LIMIT",
    "KINDS",
    "StoredValue",
    "encode_value",
    "lineage_node",
    "load_value",
    "store_value",
    "stored_bytes",
]

KINDS = ("parquet", "npy", "pickle", "model_version", "dataset")
#: encoded outputs of at most this many bytes are kept inline, not as blobs
INLINE_LIMIT = 4096


@dataclass(frozen=True)
class StoredValue:
    """Where a value went: its digest, how to read it back, and its bytes when they are
    inline (None: a blob in the artifact store under `digest`)."""

    digest: str
    kind: str
    data: bytes | None = field(default=None, repr=False)

    # over HTTP (a Knot server's pipeline routes) the bytes travel as base64
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(
        ser_json_bytes="base64", val_json_bytes="base64"
    )


def store_value(value: Any, store: ArtifactStore) -> StoredValue:
    """Serialise `value` by its kind; keep the bytes inline when they are small enough,
    put them in the artifact store otherwise."""
    kind, data = encode_value(value)
    if len(data) <= INLINE_LIMIT:
        return StoredValue(_digest(data), kind, data)
    return StoredValue(store.put_bytes(data), kind)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def stored_bytes(value: StoredValue, store: ArtifactStore) -> bytes:
    """The bytes of a stored value, verified against its digest; raises Corrupted if they
    changed (and NotFound for a blob missing from the artifact store)."""
    if value.data is None:
        return store.get_bytes(value.digest)
    if _digest(value.data) != value.digest:
        raise Corrupted(
            f"the inline output {value.digest} no longer matches its digest (its bytes in "
            "the metadata store changed); run the step again (knot pipeline run ... "
            "--no-cache) to store it anew",
            field="digest",
        )
    return value.data


def encode_value(value: Any) -> tuple[str, bytes]:
    """(kind, bytes) of a value, as store_value would store it."""
    from knot.data.entities import DatasetVersion
    from knot.registry.entities import ModelVersion

    if isinstance(value, ModelVersion):
        ref = {"model": value.name, "version": value.version, "digest": value.artifact_digest}
        return "model_version", json.dumps(ref, sort_keys=True).encode()
    if isinstance(value, DatasetVersion):
        ref = {"dataset": value.name, "version": value.version, "digest": value.digest}
        return "dataset", json.dumps(ref, sort_keys=True).encode()
    table = _arrow_table(value)
    if table is not None:
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return "parquet", buffer.getvalue()
    array = _numeric_array(value)
    if array is not None:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return "npy", buffer.getvalue()
    try:
        return "pickle", pickle.dumps(value, protocol=5)
    except Exception as exc:
        raise Invalid(
            f"the step returned a {type(value).__module__}.{type(value).__qualname__} "
            f"that cannot be stored ({type(exc).__name__}: {exc}); return a DataFrame, an "
            "array, a model version, or a value pickle can serialise",
            field="output",
        ) from None


def _arrow_table(value: Any) -> Any:
    # A frame or table exists only once its library is imported: a step returning plain
    # values never pays for importing pandas and pyarrow (most of a second).
    arrow: Any = sys.modules.get("pyarrow")
    if arrow is not None and isinstance(value, arrow.Table):
        return value
    pandas: Any = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        import pyarrow as pa

        try:
            return pa.Table.from_pandas(value)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None  # mixed-type object columns: stored with pickle instead
    return None


def _numeric_array(value: Any) -> Any:
    numpy: Any = sys.modules.get("numpy")  # as above: an array means NumPy is imported
    if numpy is not None and isinstance(value, numpy.ndarray) and not value.dtype.hasobject:
        return value
    return None


def load_value(value: StoredValue, store: ArtifactStore) -> Any:
    """The stored value, verified; raises Corrupted if the bytes changed."""
    data, kind = stored_bytes(value, store), value.kind
    if kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        is_pandas = table.schema.metadata is not None and b"pandas" in table.schema.metadata
        return table.to_pandas() if is_pandas else table
    if kind == "npy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if kind == "pickle":
        return pickle.loads(data)
    ref = json.loads(data)
    if kind == "model_version":
        from knot.registry.fluent import get_model_version

        return get_model_version(ref["model"], ref["version"])
    if kind == "dataset":
        from knot.tracking.datasets import get_dataset

        return get_dataset(f"{ref['dataset']}@{ref['version']}")
    raise Invalid(f"unknown output kind {kind!r}; known: {', '.join(KINDS)}", field="kind")


def lineage_node(value: StoredValue, store: ArtifactStore) -> tuple[str, str]:
    """The lineage node an output is: the model version or dataset it names, or its
    content (an "artifact" node named by its digest, inline or a blob alike)."""
    if value.kind not in ("model_version", "dataset"):
        return "artifact", value.digest
    ref = json.loads(stored_bytes(value, store))
    if value.kind == "model_version":
        return "model_version", f"{ref['model']}/{ref['version']}"
    return "dataset", f"{ref['dataset']}@{ref['version']}"
