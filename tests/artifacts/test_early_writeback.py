"""EarlyWriteback: every `every` bytes the file's buffer goes to the kernel and its
write-back starts, so a large layer's closing fsync waits only for the tail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from knot.artifacts import EarlyWriteback, _atomic


def test_each_stretch_is_flushed_to_the_kernel_once_it_is_long_enough(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    with path.open("wb", buffering=1 << 20) as f:  # a buffer that would hold it all
        early = EarlyWriteback(f, every=150)
        for expected_on_disk in (0, 200, 200, 400):
            f.write(b"x" * 100)
            early.wrote(100)
            assert path.stat().st_size == expected_on_disk
        assert (early.start, early.pending) == (400, 0)
        f.write(b"y" * 10)
        early.wrote(10)
        assert path.stat().st_size == 400  # the tail waits for the caller's own flush
    assert path.read_bytes() == b"x" * 400 + b"y" * 10


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_linux_starts_the_write_back_with_sync_file_range(tmp_path: Path) -> None:
    assert _atomic._SYNC_FILE_RANGE is not None
    with (tmp_path / "f").open("wb") as f:
        f.write(b"z" * 4096)
        f.flush()
        assert _atomic._SYNC_FILE_RANGE(f.fileno(), 0, 4096, _atomic._START_WRITE) == 0
