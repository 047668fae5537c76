"""Inline outputs: a step output whose encoded bytes fit INLINE_LIMIT is kept in its step
row and cache entry, not as a blob, under the same digest. Every kind round-trips on
both sides of the limit, cache hits and lineage do not care where the bytes are (a
blob written before migration 0014 is still a hit), and bytes that changed in the
metadata store are a cache miss with a warning, never a wrong value."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

import knot
from knot.pipelines.cache import CacheWarning
from knot.pipelines.values import INLINE_LIMIT, encode_value
from knot.tracking.fluent import session
from tests.backends import StoreBackend


def _text(n: int) -> str:
    """n characters that do not compress (so a frame's size follows n)."""
    digits = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(n // 64 + 1))
    return digits[:n]


def _largest(make: Any, limit: int) -> int:
    """The largest n whose value make(n) encodes to at most `limit` bytes."""
    low, high = 0, 4 * limit
    while low < high:
        middle = (low + high + 1) // 2
        if len(encode_value(make(middle))[1]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


MAKERS = {
    "pickle": lambda n: b"x" * n,
    "npy": lambda n: np.zeros(n, dtype=np.uint8),
    "parquet": lambda n: pd.DataFrame({"s": [_text(n)]}),
}
SIZES = {kind: _largest(make, INLINE_LIMIT) for kind, make in MAKERS.items()}


def boundary_values() -> dict[str, Any]:
    """Per kind, the largest value that is inline and the one just past the limit."""
    values = {}
    for kind, make in MAKERS.items():
        values[f"{kind}-inline"] = make(SIZES[kind])
        values[f"{kind}-blob"] = make(SIZES[kind] + 1)
    return values


@knot.step
def make(name: str) -> Any:
    return boundary_values()[name]


@knot.step
def echo(value: Any) -> Any:
    return value  # reads its input the way every step does


@knot.pipeline
def boundaries() -> object:
    return {name: echo(make(name)) for name in boundary_values()}


def _blob(artifacts_uri: str, digest: str) -> Path:
    root = Path(artifacts_uri.removeprefix("file://"))
    return root / "blobs" / "sha256" / digest[7:9] / digest[7:]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        return bool(a.equals(b))
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b)) and a.dtype == b.dtype
    return bool(a == b)


@pytest.fixture
def store(store_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    store_backend.use(monkeypatch)
    return store_backend


def test_every_kind_round_trips_on_both_sides_of_the_limit(store: StoreBackend) -> None:
    expected = boundary_values()
    for name, value in expected.items():
        size = len(encode_value(value)[1])
        assert (size <= INLINE_LIMIT) == name.endswith("-inline"), (name, size)
    first = boundaries()
    for name, value in expected.items():
        assert _same(first.output[name], value), name
    makers = {s.run_id: s for s in first.steps if s.step == "make"}
    for result in makers.values():
        name = knot.get_run(result.run_id or "").params["name"]
        kind, data = encode_value(expected[name])
        assert result.output_kind == kind
        assert result.output_digest == "sha256:" + hashlib.sha256(data).hexdigest()
        # only the outputs past the limit are files in the artifact store
        blob = _blob(store.artifacts_uri, result.output_digest)
        assert blob.exists() == name.endswith("-blob"), name

    again = boundaries()
    assert {s.status for s in again.steps} == {"cached"}
    for name, value in expected.items():
        assert _same(again.output[name], value), name
    assert {s.output_digest for s in again.steps} == {s.output_digest for s in first.steps}
    recorded = knot.get_pipeline_run(again.run_id)
    assert [s.from_run for s in recorded.steps] == [s.run_id for s in first.steps]


@knot.step
def plus(x: int) -> int:
    return x + 1


@knot.step
def times(y: int) -> int:
    return y * 10


@knot.pipeline
def small(x: int) -> object:
    return times(plus(x))


def _engine(store: StoreBackend) -> Any:
    return create_engine(store.db_uri.replace("postgresql://", "postgresql+psycopg://"))


def _set_cache_data(store: StoreBackend, digest: str, data: bytes | None) -> None:
    engine = _engine(store)
    with engine.begin() as conn:
        changed = conn.execute(
            text("UPDATE pipeline_cache SET output_data = :data WHERE output_digest = :digest"),
            {"data": data, "digest": digest},
        ).rowcount
    engine.dispose()
    assert changed == 1


def test_a_blob_entry_from_before_inline_outputs_is_still_a_hit(store: StoreBackend) -> None:
    first = small(1)
    assert first.output == 20
    digest = first["plus"].output_digest or ""
    # the entry as Knot wrote it before migration 0014: a blob, no bytes in the row
    _set_cache_data(store, digest, None)
    assert session().artifacts.put_bytes(encode_value(2)[1]) == digest
    second = small(1)
    assert second.cached == ["plus", "times"]  # the downstream key is the same digest
    assert second["plus"].from_run == first["plus"].run_id
    assert second.output == 20


def test_a_blob_entry_whose_blob_is_gone_runs_again_and_is_stored_inline(
    store: StoreBackend,
) -> None:
    first = small(2)
    digest = first["plus"].output_digest or ""
    _set_cache_data(store, digest, None)  # a blob entry, but no blob was ever written
    with pytest.warns(CacheWarning, match="missing from the artifact store"):
        second = small(2)
    assert second["plus"].status == "ran" and second["times"].status == "cached"
    assert second.output == 30
    assert small(2).cached == ["plus", "times"]
    assert not _blob(store.artifacts_uri, digest).exists()


def test_changed_inline_bytes_are_a_miss_with_a_warning(store: StoreBackend) -> None:
    first = small(3)
    digest = first["plus"].output_digest or ""
    _set_cache_data(store, digest, encode_value(999)[1])  # not the bytes of the digest
    with pytest.warns(CacheWarning, match="corrupted in the metadata store"):
        second = small(3)
    assert second["plus"].status == "ran"
    assert second["times"].status == "cached"  # the fresh output has the same digest
    assert second.output == 40
    third = small(3)  # the fresh run's entry replaced the damaged one
    assert third.cached == ["plus", "times"]
    assert third["plus"].from_run == second["plus"].run_id


PLAIN = """
import sys

import knot


@knot.step
def one(x: int) -> int:
    return x + 1


@knot.pipeline
def plain(x: int):
    return one(one(x))


print(plain(1).output, plain(1).cached)
print(sorted(m for m in ("pandas", "pyarrow", "numpy") if m in sys.modules))
"""


def test_plain_outputs_never_import_pandas_pyarrow_or_numpy(
    knot_home: Path, tmp_path: Path
) -> None:
    """Storing an int is not a reason to import the DataFrame libraries (most of a
    second in a fresh process): a frame exists only once its library is imported."""
    script = tmp_path / "plain.py"
    script.write_text(PLAIN)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["3 ['one', 'one-2']", "[]"]
