"""Unpacking refuses tampered blobs and entries that escape the target, writing nothing."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from knot.errors import Corrupted, Invalid
from knot.packaging.layout import KitStore
from knot.packaging.pack import pack_folder
from knot.packaging.safe_tar import extract_layer
from knot.packaging.unpack import unpack


def _tar(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"") -> tuple[Path, str]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        good = tarfile.TarInfo("ok.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    path = tmp_path / "layer.tar"
    path.write_bytes(buffer.getvalue())
    return path, f"sha256:{hashlib.sha256(buffer.getvalue()).hexdigest()}"


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (_member("../evil.txt"), "'..'"),
        (_member("a/../../evil.txt"), "'..'"),
        (_member("/etc/evil.txt"), "absolute path"),
        (_member("evil", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
        (_member("evil", tarfile.LNKTYPE, "../outside"), "is a link"),
        (_member("evil", tarfile.CHRTYPE), "device"),
    ],
)
def test_escaping_entries_are_refused(tmp_path: Path, member: tarfile.TarInfo, why: str) -> None:
    blob, digest = _tar(tmp_path, member, b"pwned")
    dest = tmp_path / "out"
    with pytest.raises(Invalid, match=why):
        extract_layer(blob, digest, dest)
    assert not dest.exists()  # not even the harmless entry before it was written


def test_tampered_local_blob_is_detected(context: Path, store: KitStore, tmp_path: Path) -> None:
    packed = pack_folder(context, "toy:1")
    layer = store.blob_path(packed.manifest["layers"][2]["digest"])  # the code layer
    data = bytearray(layer.read_bytes())
    data[600] ^= 0xFF  # inside src/train.py's bytes: still a valid tar
    layer.write_bytes(bytes(data))
    dest = tmp_path / "out"
    with pytest.raises(Corrupted, match="does not match its digest"):
        unpack("toy:1", dest, store=store)
    assert not dest.exists()
    layer.write_bytes(b"not a tar at all")
    with pytest.raises(Corrupted):
        unpack("toy:1", dest, {"code"}, store=store)


def test_unpack_selected_layers(context: Path, store: KitStore, tmp_path: Path) -> None:
    pack_folder(context, "toy:1")
    unpack("toy:1", tmp_path / "m", {"model", "modelpart"}, store=store)
    got = sorted(str(p.relative_to(tmp_path / "m")) for p in (tmp_path / "m").rglob("*"))
    assert got == ["models", "models/extra", "models/extra/part.bin", "models/model.bin"]
    unpack("toy:1", tmp_path / "all", store=store)
    for name in ("data/train.csv", "src/train.py", "README.md", "models/model.bin"):
        assert (tmp_path / "all" / name).read_bytes() == (context / name).read_bytes()
    assert (tmp_path / "all" / "Kitfile").is_file()
    with pytest.raises(Invalid, match="unknown layer kind"):
        unpack("toy:1", tmp_path / "x", {"weights"}, store=store)
