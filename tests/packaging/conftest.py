"""Packaging fixtures: a real OCI registry (Debian's docker-registry) started once per
session, with its storage folder exposed so a test can tamper with a stored blob; a fake
registry that lies as each test tells it to; and a small context folder with a Kitfile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.local_registry import find_registry_binary, local_registry
from tests.packaging.hostile_registry import HostileRegistry, hostile_registry


@dataclass(frozen=True)
class OciRegistry:
    address: str
    storage: Path

    def blob_file(self, digest: str) -> Path:
        hex_ = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hex_[:2] / hex_ / "data"


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    if find_registry_binary() is None:
        pytest.skip(
            "Debian's docker-registry is not installed (apt-get install docker-registry; "
            "scripts/install-servers.sh does)"
        )
    storage = tmp_path_factory.mktemp("oci-registry")
    with local_registry(storage) as address:
        yield OciRegistry(address, storage)


@pytest.fixture(scope="session")
def hostile() -> Iterator[HostileRegistry]:
    """A fake registry that serves whatever a test sets up (each test its own repository)."""
    with hostile_registry() as registry:
        yield registry


KITFILE = """\
manifestVersion: "1.0"
package:
  name: toy
  authors: [tester]
model:
  name: toy
  path: models
  parts:
    - path: models/extra
datasets:
  - name: train
    path: data/train.csv
code:
  - path: src
docs:
  - path: README.md
"""


def write_context(root: Path) -> Path:
    """A fixed folder with known bytes and modes."""
    files = {
        "models/model.bin": b"weights" * 100,
        "models/extra/part.bin": b"\x00\x01" * 50,
        "data/train.csv": b"a,b\n1,2\n",
        "src/train.py": b"print('hi')\n",
        "README.md": b"# toy\n",
        "Kitfile": KITFILE.encode(),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
    for folder in ("models", "models/extra", "data", "src"):
        os.chmod(root / folder, 0o755)
    return root


@pytest.fixture
def context(tmp_path: Path) -> Path:
    return write_context(tmp_path / "context")


@pytest.fixture
def store(knot_home: Path) -> KitStore:
    return open_kit_store()
