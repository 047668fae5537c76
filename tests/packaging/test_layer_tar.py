"""Layer tars follow kit's rules byte for byte, and packing is reproducible (golden)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knot.errors import Invalid, NotFound
from knot.packaging.kitfile import read_kitfile
from knot.packaging.layer_tar import tar_header, walk_layer, write_layer
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.pack import pack_folder
from tests.packaging.conftest import write_context

# write_context() packed uncompressed by Knot 0.1.0: if these change, every ModelKit
# Knot packed before changes identity.
GOLDEN_MANIFEST = "sha256:d23224acd2ead34f668116d3831a6b3a56970017221797a96699d816dc94fe2c"
GOLDEN_MODEL_LAYER = "sha256:af6bcb5b838f53243fe4f7bd6c1649a084acee3845130228914beee653c223c8"


def test_golden_manifest_digest(
    context: Path, store: KitStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("knot._version.__version__", "0.1.0")  # it is in an annotation
    packed = pack_folder(context, "toy:1")
    assert packed.manifest["layers"][0]["digest"] == GOLDEN_MODEL_LAYER
    assert packed.digest == GOLDEN_MANIFEST


def test_packing_twice_gives_the_same_bytes(tmp_path: Path, store: KitStore) -> None:
    first = write_context(tmp_path / "one")
    second = write_context(tmp_path / "two")
    for path in second.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))  # other mtimes and atimes must not matter
    a = pack_folder(first, "toy:a")
    b = pack_folder(second, "toy:b", compression="gzip")
    c = pack_folder(second, "toy:c", compression="gzip")
    assert a.digest == pack_folder(second, "toy:d").digest
    assert b.digest == c.digest != a.digest
    assert [e.reference for e in store.entries()] == ["toy:a", "toy:b", "toy:c", "toy:d"]


def _raw_headers(blob: bytes) -> list[bytes]:
    headers, offset = [], 0
    while blob[offset : offset + 512].strip(b"\0"):
        header = blob[offset : offset + 512]
        headers.append(header)
        size = int(header[124:136].rstrip(b"\0") or b"0", 8)
        offset += 512 + (size + 511) // 512 * 512
    return headers


def test_headers_follow_kits_rules(context: Path, store: KitStore) -> None:
    packed = pack_folder(context, "toy:1")
    model = store.blob_path(packed.manifest["layers"][0]["digest"]).read_bytes()
    headers = _raw_headers(model)
    names = [h[:100].rstrip(b"\0").decode() for h in headers]
    # parent folder included, no trailing slash, the nested part left to its own layer
    assert names == ["models", "models/model.bin"]
    for h in headers:
        assert h[108:116] == b"0001750\0"  # uid 1000
        assert h[116:124] == b"0000000\0"  # gid 0
        assert h[136:148] == b"00000000000\0"  # mtime 0
        assert h[257:265] == b"ustar\x0000"
        assert h[265:329] == b"\0" * 64  # no user or group names
    assert headers[0][156:157] == b"5" and headers[0][100:108] == b"0000755\0"
    assert headers[1][156:157] == b"0" and headers[1][100:108] == b"0000644\0"
    assert model.endswith(b"\0" * 1024) and len(model) % 512 == 0
    kinds = [layer["mediaType"].split(".")[3] for layer in packed.manifest["layers"]]
    assert kinds == ["model", "modelpart", "code", "dataset", "docs"]  # kit's order


def test_walk_order_is_depth_first_by_name(tmp_path: Path) -> None:
    for name in ("a/b", "a-c", "a/a/z", "b"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "b")
    assert [n for n, _ in walk_layer(tmp_path, ".", [])] == [
        "a",
        "a/a",
        "a/a/z",
        "a/b",
        "a-c",
        "b",
    ]  # Go's filepath.Walk order, symlinks skipped as kit does
    assert [n for n, _ in walk_layer(tmp_path, "a/a/z", [])] == ["a", "a/a", "a/a/z"]


def test_layer_path_outside_context_is_refused(context: Path, tmp_path: Path) -> None:
    for bad in ("../elsewhere", "/etc"):
        with pytest.raises(Invalid, match="leaves the context folder"):
            write_layer(context, bad, [], tmp_path / "out.tar", gzip_level=None)
    with pytest.raises(Invalid, match="does not exist"):
        write_layer(context, "missing.bin", [], tmp_path / "out.tar", gzip_level=None)


def test_gzip_layer_carries_the_uncompressed_diff_id(context: Path, tmp_path: Path) -> None:
    plain = write_layer(context, "models", [], tmp_path / "a.tar", gzip_level=None)
    packed = write_layer(context, "models", [], tmp_path / "a.tgz", gzip_level=6)
    assert packed.diff_id == plain.digest != packed.digest
    assert read_kitfile(context / "Kitfile").model is not None


_names = st.lists(
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x24F, exclude_characters="/\\"),
        min_size=1,
        max_size=60,
    ),
    min_size=1,
    max_size=5,
).map("/".join)


@settings(max_examples=200, deadline=None)
@given(name=_names, size=st.integers(0, 5000), is_dir=st.booleans())
def test_headers_read_back_with_tarfile(name: str, size: int, is_dir: bool) -> None:
    size = 0 if is_dir else size
    blob = tar_header(name, 0o644, size, is_dir) + b"\0" * ((size + 511) // 512 * 512 + 1024)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        member = tar.getmembers()[0]
    assert member.name == name and member.size == size
    assert member.isdir() == is_dir and member.uid == 1000 and member.mtime == 0


def test_store_is_an_oci_image_layout(context: Path, store: KitStore) -> None:
    import json

    packed = pack_folder(context, "toy:1")
    index = json.loads((store.root / "index.json").read_text())
    assert json.loads((store.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert index["manifests"][0]["digest"] == packed.digest
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "toy:1"}
    assert open_kit_store(store.root).resolve("toy:1")[0] == packed.digest


def test_remove_keeps_blobs_other_kits_use(context: Path, store: KitStore) -> None:
    first = pack_folder(context, "toy:1")
    (context / "README.md").write_text("other docs")
    second = pack_folder(context, "toy:2")
    store.remove("toy:1")
    assert not store.has(first.digest) and store.has(second.digest)
    for layer in second.manifest["layers"]:
        assert store.verify_blob(layer["digest"])
    assert not store.has(first.manifest["layers"][-1]["digest"])  # the old docs layer
    with pytest.raises(NotFound, match="no ModelKit 'toy:1'"):
        store.remove("toy:1")
