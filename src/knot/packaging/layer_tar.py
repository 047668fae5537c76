"""Layer tars exactly as kit writes them, streamed to a temp file while hashing.

kit walks the context folder depth first in name order, keeps the layer's path, its
parent folders and everything under it (minus other layers nested inside it), skips
anything that is not a regular file or folder, and writes Go archive/tar headers with
mtime 0, uid 1000, gid 0, no user or group names and no trailing slash on folders.
So packing the same files twice gives the same bytes, and the same bytes as kit.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from knot.artifacts import EarlyWriteback
from knot.errors import Invalid

__all__ = ["CHUNK", "LayerFile", "layer_size", "tar_header", "walk_layer", "write_layer"]

CHUNK = 1 << 20
_BLOCK = 512
_NAME, _PREFIX = 100, 155
_UID, _GID = 1000, 0


@dataclass(frozen=True)
class LayerFile:
    """A layer blob written to `path`: digest of its bytes, diffId of the uncompressed tar."""

    path: Path
    digest: str
    diff_id: str
    size: int


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _field(text: str, width: int) -> bytes:
    raw = text.encode("ascii", "ignore")[:width]
    return raw + b"\0" * (width - len(raw))


def _split_ustar(name: str) -> tuple[str, str] | None:
    """Go's splitUSTARPath: the longest prefix (<=155) whose remainder fits in 100 bytes."""
    length = len(name)
    if length <= _NAME or not name.isascii():
        return None
    length = min(length, _PREFIX + 1)
    if name[length - 1] == "/":
        length -= 1
    i = name.rfind("/", 0, length)
    suffix_len = len(name) - i - 1
    if i <= 0 or suffix_len > _NAME or suffix_len == 0 or i > _PREFIX:
        return None
    return name[:i], name[i + 1 :]


def _block(name: str, mode: int, size: int, typeflag: bytes, prefix: str = "") -> bytes:
    header = b"".join(
        [
            _field(name, 100),
            _octal(mode, 8),
            _octal(_UID, 8),
            _octal(_GID, 8),
            _octal(size if size < 8**11 else 0, 12),
            _octal(0, 12),  # mtime
            b" " * 8,  # checksum placeholder
            typeflag,
            b"\0" * 100,  # link name
            b"ustar\x0000",
            b"\0" * 64,  # user and group names
            _octal(0, 8),
            _octal(0, 8),  # device numbers
            _field(prefix, 155),
        ]
    )
    header += b"\0" * (_BLOCK - len(header))
    checksum = b"%06o\0 " % sum(header)
    return header[:148] + checksum + header[156:]


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    size = len(body) + 1
    while len(str(size)) + len(body) != size:
        size = len(str(size)) + len(body)
    return str(size).encode() + body


def _pad(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


def tar_header(name: str, mode: int, size: int, is_dir: bool) -> bytes:
    """The header block(s) Go's tar.Writer emits for this entry (USTAR when it fits,
    otherwise a PAX extended header first, as Go does)."""
    typeflag = b"5" if is_dir else b"0"
    records = []
    prefix, short = "", name
    if len(name) > _NAME or not name.isascii():
        split = _split_ustar(name)
        if split is None:
            records.append(_pax_record("path", name))
        else:
            prefix, short = split
    if size >= 8**11:
        records.append(_pax_record("size", str(size)))
    if not records:
        return _block(short, mode, size, typeflag, prefix)
    data = b"".join(sorted(records, key=lambda r: bytes(r).split(b" ", 1)[1]))
    head, _, base = name.rpartition("/")
    pax_name = f"{head}/PaxHeaders.0/{base}" if head else f"PaxHeaders.0/{base}"
    pax_name = pax_name.encode("ascii", "ignore")[:_NAME].decode().rstrip("/")
    extended = _block(pax_name, 0, len(data), b"x")
    extended = extended[:108] + b"0000000\0" * 2 + extended[124:]  # Go leaves uid/gid 0
    extended = extended[:329] + b"\0" * 16 + extended[345:]  # and device numbers empty
    checksum = b"%06o\0 " % sum(extended[:148] + b" " * 8 + extended[156:])
    extended = extended[:148] + checksum + extended[156:]
    return extended + data + _pad(len(data)) + _block(name, mode, size, typeflag)


def _inside(path: str, folder: str) -> bool:
    return folder in (".", "") or path == folder or path.startswith(folder + "/")


def walk_layer(context: Path, layer_path: str, others: list[str]) -> Iterator[tuple[str, Path]]:
    """(name in the tar, file) for one layer, in kit's order. `others` are the other
    layers' paths: any nested inside this one is left to its own layer."""
    base = os.path.normpath(layer_path).replace(os.sep, "/")
    if base.startswith("../") or base == ".." or os.path.isabs(layer_path):
        raise Invalid(
            f"layer path {layer_path!r} leaves the context folder {context}; ModelKits hold "
            "only files inside it",
            field="path",
        )
    if not (context / base).exists():
        raise Invalid(
            f"layer path {layer_path!r} does not exist in {context}; fix the Kitfile",
            field="path",
        )
    nested = [
        p
        for p in (os.path.normpath(o).replace(os.sep, "/") for o in others)
        if p != base and _inside(p, base)
    ]
    yield from _walk(context, "", base, nested)


def _walk(context: Path, rel: str, base: str, nested: list[str]) -> Iterator[tuple[str, Path]]:
    folder = context / rel if rel else context
    for entry in sorted(
        os.scandir(folder), key=lambda e: e.name.encode("utf-8", "surrogateescape")
    ):
        name = f"{rel}/{entry.name}" if rel else entry.name
        st = entry.stat(follow_symlinks=False)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            continue
        is_ancestor = _inside(base, name)
        if not (is_ancestor or _inside(name, base)):
            continue
        if not is_ancestor and any(_inside(name, n) for n in nested):
            continue
        yield name, Path(entry.path)
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(context, name, base, nested)


_COPY_CHUNK = 256 << 10  # read into reused buffers this size: fewer page faults than 1 MiB
_COPY_BUFFERS = 4


class _Hashing:
    """A write-only stream that hashes what passes through it.

    The hashing runs on a thread of its own (hashlib lets go of the GIL on large
    buffers), so sha256 of one chunk overlaps the read and write of the next. A chunk
    that is a reused buffer comes with a `done` callback the thread calls once it has
    hashed it, and the buffer is not refilled before then; the queue is bounded, so
    memory stays at a few chunks whatever the layer's size.
    """

    def __init__(self, out: BinaryIO, wrote: Callable[[int], object] | None = None) -> None:
        self.out = out
        self._wrote = wrote  # told each write's size once it is in `out`
        self.sha = hashlib.sha256()
        self.size = 0
        self._chunks: queue.Queue[tuple[bytes | memoryview, Callable[[], object] | None] | None]
        self._chunks = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._hash, name="knot-layer-hash", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        update, get = self.sha.update, self._chunks.get
        while (item := get()) is not None:
            update(item[0])
            if item[1] is not None:
                item[1]()

    def write(self, data: bytes | memoryview, done: Callable[[], object] | None = None) -> int:
        if done is None and not isinstance(data, bytes):
            data = bytes(data)  # a caller's buffer may change after this returns
        self.out.write(data)
        if self._wrote is not None:
            self._wrote(len(data))
        self._chunks.put((data, done))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.out.flush()

    def hexdigest(self) -> str:
        """The digest of everything written; call once, after the last write."""
        self.close()
        return self.sha.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()


def write_layer(
    context: Path,
    layer_path: str,
    others: list[str],
    dest: Path,
    *,
    gzip_level: int | None,
    on_bytes: Callable[[int], object] | None = None,
) -> LayerFile:
    """Write one layer tar (gzipped when `gzip_level` is set) to `dest`, hashing as it goes;
    memory stays at one chunk whatever the layer's size."""
    with dest.open("wb") as raw:
        # the disk writes the layer while it is packed; the fsync below waits for the tail
        blob = _Hashing(raw, EarlyWriteback(raw).wrote)
        tar = blob
        try:
            packed = (
                gzip.GzipFile(
                    filename="", mode="wb", fileobj=blob, mtime=0, compresslevel=gzip_level
                )
                if gzip_level is not None
                else None
            )
            tar = _Hashing(packed) if packed is not None else blob  # type: ignore[arg-type]
            for name, path in walk_layer(context, layer_path, others):
                st = path.stat(follow_symlinks=False)
                is_dir = stat.S_ISDIR(st.st_mode)
                size = 0 if is_dir else st.st_size
                tar.write(tar_header(name, stat.S_IMODE(st.st_mode), size, is_dir))
                if not is_dir:
                    written = _copy(path, tar, on_bytes)
                    if written != size:
                        raise Invalid(
                            f"{path} changed size while packing; pack again", field="path"
                        )
                    tar.write(_pad(size))
            tar.write(b"\0" * _BLOCK * 2)  # Go closes the archive with two zero blocks
            if packed is not None:
                packed.close()
            raw.flush()
            os.fsync(raw.fileno())
        finally:
            tar.close()
            blob.close()
    digest = f"sha256:{blob.hexdigest()}"
    diff_id = f"sha256:{tar.hexdigest()}" if packed is not None else digest
    return LayerFile(dest, digest, diff_id, blob.size)


def _copy(path: Path, out: _Hashing, on_bytes: Callable[[int], object] | None) -> int:
    """Copy a file's bytes through `out`, each read once into a buffer that is written,
    then hashed on out's thread; a buffer is refilled only after it was hashed."""
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(_COPY_BUFFERS):
        free.put(bytearray(_COPY_CHUNK))
    total = unreported = 0
    with path.open("rb", buffering=0) as f:
        while True:
            buffer = free.get()
            n = f.readinto(buffer)
            if not n:
                break
            out.write(memoryview(buffer)[:n], functools.partial(free.put, buffer))
            total += n
            unreported += n
            if on_bytes is not None and unreported >= CHUNK:  # a progress bar costs per call
                on_bytes(unreported)
                unreported = 0
    if on_bytes is not None and unreported:
        on_bytes(unreported)
    return total


def layer_size(context: Path, layer_path: str, others: list[str]) -> int:
    """Bytes of file content in one layer (for progress bars)."""
    return sum(p.stat().st_size for _, p in walk_layer(context, layer_path, others) if p.is_file())
