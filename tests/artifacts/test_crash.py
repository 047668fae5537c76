"""A writer killed mid-write leaves no partial blob, only a temp file that is cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from knot.artifacts import LocalBlobStore, digest_file, open_blob_store

WRITER = textwrap.dedent(
    """
    import sys, time
    from knot.artifacts import open_blob_store

    store = open_blob_store(sys.argv[1])

    def slow_big_file():
        for i in range(10_000):
            yield bytes([i % 256]) * (1024 * 1024)
            print("chunk", flush=True)
            time.sleep(0.02)

    store.put_stream(slow_big_file())
    print("finished", flush=True)
    """
)


def test_killed_writer_leaves_no_partial_blob(tmp_path: Path) -> None:
    root = tmp_path / "store"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, root.as_uri()], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        for _ in range(3):
            assert writer.stdout.readline() == "chunk\n"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL

    store = open_blob_store(root.as_uri())
    assert [p for p in (root / "blobs").rglob("*") if p.is_file()] == []
    temps = list((root / "tmp").iterdir())
    assert len(temps) == 1 and temps[0].stat().st_size >= 3 * 1024 * 1024
    assert not store.exists(digest_file(temps[0]))

    backend = store.backend
    assert isinstance(backend, LocalBlobStore)
    assert backend.clean_staging() == 0  # a fresh temp may be a write still in progress
    assert backend.clean_staging(older_than=0) == 1
    assert list((root / "tmp").iterdir()) == []
    assert store.get_bytes(store.put_bytes(b"still works")) == b"still works"
