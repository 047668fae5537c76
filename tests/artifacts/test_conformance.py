"""The artifact store contract, run against every backend through the `blob_store` fixture."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knot.artifacts import ArtifactStore, Manifest, digest_bytes
from knot.artifacts.manifest import MEDIA_TYPE
from knot.errors import Corrupted, Invalid, NotFound
from tests.artifacts.conftest import RawStorage

MISSING = digest_bytes(b"never stored")


def _blob_key(digest: str) -> str:
    hex_part = digest.removeprefix("sha256:")
    return f"blobs/sha256/{hex_part[:2]}/{hex_part}"


def _make_folder(root: Path) -> dict[str, bytes]:
    files = {
        "model.pkl": b"\x80\x04weights" * 100,
        "conf/params.json": b'{"lr": 0.1}',
        "conf/deep/empty.txt": b"",
        "README.md": b"# model\n",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def test_bytes_round_trip(blob_store: ArtifactStore) -> None:
    for data in (b"", b"hello", bytes(range(256)) * 50):
        digest = blob_store.put_bytes(data)
        assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
        assert blob_store.exists(digest)
        assert blob_store.get_bytes(digest) == data
        assert blob_store.stat(digest).size == len(data)


def test_file_round_trip(blob_store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    digest = blob_store.put_file(source)
    dest = blob_store.download_file(digest, tmp_path / "out" / "copy.bin")
    assert dest.read_bytes() == source.read_bytes()
    with blob_store.open(digest) as stream:
        assert stream.read(10) == source.read_bytes()[:10]


def test_stream_round_trip(blob_store: ArtifactStore) -> None:
    chunks: list[bytes | bytearray | memoryview] = [
        b"a" * 1000,
        bytearray(b"b" * 10),
        memoryview(b"c"),
    ]
    from_chunks = blob_store.put_stream(chunks)
    from_file = blob_store.put_stream(io.BytesIO(b"".join(chunks)))
    assert from_chunks == from_file == digest_bytes(b"".join(chunks))
    assert blob_store.get_bytes(from_chunks) == b"".join(chunks)


def test_text_chunks_are_refused(blob_store: ArtifactStore) -> None:
    with pytest.raises(Invalid, match="bytes chunks, got str"):
        blob_store.put_stream(io.StringIO("text"))  # type: ignore[arg-type]


def test_folder_round_trip(blob_store: ArtifactStore, tmp_path: Path) -> None:
    files = _make_folder(tmp_path / "model")
    digest = blob_store.put_folder(tmp_path / "model")
    assert blob_store.put_folder(tmp_path / "model") == digest

    manifest = blob_store.read_manifest(digest)
    assert [e.path for e in manifest.entries] == sorted(files)
    assert {e.path: e.size for e in manifest.entries} == {k: len(v) for k, v in files.items()}
    restored = blob_store.download_folder(digest, tmp_path / "restored")
    found = {p.relative_to(restored).as_posix() for p in restored.rglob("*") if p.is_file()}
    assert found == set(files)
    for rel, data in files.items():
        assert (restored / rel).read_bytes() == data


def test_a_file_blob_is_not_a_folder(blob_store: ArtifactStore, tmp_path: Path) -> None:
    digest = blob_store.put_bytes(b"just a file")
    with pytest.raises(Invalid, match=f"{digest} is not a folder manifest"):
        blob_store.download_folder(digest, tmp_path / "out")


def test_equal_content_is_stored_once(
    blob_store: ArtifactStore, raw: RawStorage, tmp_path: Path
) -> None:
    data = b"the same bytes"
    (tmp_path / "same.txt").write_bytes(data)
    digests = {
        blob_store.put_bytes(data),
        blob_store.put_bytes(data),
        blob_store.put_file(tmp_path / "same.txt"),
        blob_store.put_stream([data[:4], data[4:]]),
    }
    assert digests == {digest_bytes(data)}
    assert raw.keys() == [_blob_key(digest_bytes(data))]


def test_folder_files_are_deduplicated(
    blob_store: ArtifactStore, raw: RawStorage, tmp_path: Path
) -> None:
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (tmp_path / "dir" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "dir" / name).write_bytes(b"repeated")
    folder = blob_store.put_folder(tmp_path / "dir")
    assert raw.keys() == sorted([_blob_key(folder), _blob_key(digest_bytes(b"repeated"))])


def test_corrupted_blob_is_refused_on_read(
    blob_store: ArtifactStore, raw: RawStorage, tmp_path: Path
) -> None:
    digest = blob_store.put_bytes(b"original content")
    raw.overwrite(digest, b"tampered content")
    with pytest.raises(Corrupted, match=digest) as caught:
        blob_store.get_bytes(digest)
    assert "put the original content again" in caught.value.message
    with pytest.raises(Corrupted, match=digest):
        blob_store.verify(digest)
    with pytest.raises(Corrupted, match=digest):
        blob_store.download_file(digest, tmp_path / "out" / "copy.bin")
    assert list((tmp_path / "out").iterdir()) == []  # no partial or unverified file is left

    blob_store.delete(digest)
    assert blob_store.put_bytes(b"original content") == digest
    assert blob_store.get_bytes(digest) == b"original content"


def test_missing_blob_is_not_found(blob_store: ArtifactStore, tmp_path: Path) -> None:
    assert not blob_store.exists(MISSING)
    calls = [
        lambda: blob_store.get_bytes(MISSING),
        lambda: blob_store.stat(MISSING),
        lambda: blob_store.open(MISSING),
        lambda: blob_store.download_file(MISSING, tmp_path / "x"),
        lambda: blob_store.download_folder(MISSING, tmp_path / "y"),
    ]
    for call in calls:
        with pytest.raises(NotFound, match=MISSING):
            call()
    assert not (tmp_path / "x").exists()
    blob_store.delete(MISSING)  # deleting what is absent is fine


@pytest.mark.parametrize(
    "bad", ["", "abc", "sha256:", "sha256:xyz", "SHA256:" + "a" * 64, "sha256:" + "A" * 64,
            "md5:" + "a" * 32, "sha256:" + "a" * 63, "sha256:" + "a" * 65],
)  # fmt: skip
def test_malformed_digest_is_invalid(blob_store: ArtifactStore, bad: str) -> None:
    for call in (blob_store.exists, blob_store.get_bytes, blob_store.stat, blob_store.delete):
        with pytest.raises(Invalid, match="expected 'sha256:' followed by 64") as caught:
            call(bad)
        assert repr(bad) in caught.value.message


def test_missing_source_paths(blob_store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        blob_store.put_file(tmp_path / "nope.bin")
    with pytest.raises(Invalid, match="use put_folder"):
        blob_store.put_file(tmp_path)
    with pytest.raises(Invalid, match="not a folder"):
        blob_store.put_folder(tmp_path / "nope")


@pytest.mark.parametrize(
    "path", ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "C:/x", "a\\..\\b", ""]
)
def test_manifest_escaping_its_folder_is_refused(
    blob_store: ArtifactStore, tmp_path: Path, path: str
) -> None:
    inner = blob_store.put_bytes(b"payload")
    entries = [{"path": "fine.txt", "digest": inner, "size": 7}]
    entries.append({"path": path, "digest": inner, "size": 7})
    evil = blob_store.put_bytes(json.dumps({"mediaType": MEDIA_TYPE, "entries": entries}).encode())
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(Invalid, match="unsafe path") as caught:
        blob_store.download_folder(evil, dest)
    assert evil in caught.value.message
    assert not (tmp_path / "x").exists()
    assert not dest.exists()  # refused before anything was written


def test_manifest_is_canonical(blob_store: ArtifactStore, tmp_path: Path) -> None:
    _make_folder(tmp_path / "m")
    digest = blob_store.put_folder(tmp_path / "m")
    data = blob_store.get_bytes(digest)
    assert Manifest.from_bytes(data, digest).to_bytes() == data


def test_large_file_streams(blob_store: ArtifactStore, tmp_path: Path) -> None:
    size = 20 * 1024 * 1024
    source = tmp_path / "big.bin"
    with source.open("wb") as out:
        for _ in range(size // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    expected = "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()

    blob_store.exists(MISSING)  # connect first: building an S3 client is not streaming
    tracemalloc.start()
    try:
        digest = blob_store.put_file(source)
        dest = blob_store.download_file(digest, tmp_path / "big.copy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest == expected
    assert dest.stat().st_size == size
    assert "sha256:" + hashlib.sha256(dest.read_bytes()).hexdigest() == expected
    assert peak < size // 2, f"peak Python memory {peak} bytes: the file was not streamed"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2048))
def test_digest_round_trip_property(blob_store: ArtifactStore, data: bytes) -> None:
    digest = blob_store.put_bytes(data)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert blob_store.get_bytes(digest) == data
