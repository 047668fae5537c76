"""`knot pull` against a registry that lies: `..` and absolute digests, manifests that do
not match their digest, blobs of the wrong size or content. The installed `knot` runs as
a subprocess; each pull must exit 2 with one line on stderr, store nothing, and leave
every file outside the kit store as it was, and so must `knot kits remove` afterwards."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from knot.packaging.descriptors import MAX_MANIFEST_BYTES
from knot.packaging.layout import open_kit_store
from knot.packaging.media import layer_media_type
from tests.packaging.hostile_registry import HostileRegistry, Reply, manifest_of, sha256

KNOT = Path(sys.executable).parent / "knot"
CONFIG = b'{"manifestVersion":"1.0","package":{"name":"evil"}}'
LAYER = b"layer bytes that a tar would hold" * 10
MODEL = layer_media_type("model", "none")
VICTIM = b"precious: must never be read, replaced or removed\n"


@dataclass(frozen=True)
class Case:
    ref: str  # what `knot pull` is given
    says: str  # a fragment the one-line error must hold


@dataclass(frozen=True)
class World:
    home: Path  # KNOT_HOME; the kit store is home/kits
    victims: list[Path]  # files a hostile digest would name, all outside the store

    @property
    def store(self) -> Path:
        return self.home / "kits"


def _knot(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KNOT_HOME": str(world.home), "KNOT_USER": "tester"}
    return subprocess.run([str(KNOT), *args], env=env, capture_output=True, text=True)


def _outside(world: World, top: Path) -> dict[str, str]:
    """Every file and folder under `top` but outside the kit store, with its content's
    digest, so a write, a replacement, an unlink or a new file shows."""
    found = {}
    for path in sorted(top.rglob("*")):
        if path == world.store or world.store in path.parents:
            continue
        rel = str(path.relative_to(top))
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


@pytest.fixture
def world(tmp_path: Path) -> World:
    home = tmp_path / "home"
    victims = [home / "victim", tmp_path / "victim", tmp_path / "abs" / "victim"]
    for victim in victims:
        victim.parent.mkdir(parents=True, exist_ok=True)
        victim.write_bytes(VICTIM)
    made = World(home, victims)
    warm = _knot(made, "kits", "list")  # the store and anything else the CLI creates
    assert warm.returncode == 0, warm.stderr
    return made


def _layered(reg: HostileRegistry, repo: str, layers: list[dict[str, object]]) -> str:
    reg.blob(repo, sha256(CONFIG), CONFIG)
    reg.manifest(repo, "1", manifest_of(CONFIG, layers))
    return f"{reg.address}/{repo}:1"


def dotdot_layer(reg: HostileRegistry, repo: str, world: World) -> Case:
    # from home/kits/blobs/sha256, three '..' reach KNOT_HOME, outside the store
    ref = _layered(reg, repo, [{"mediaType": MODEL, "digest": "sha256:../../../victim", "size": 9}])
    return Case(ref, "'sha256:../../../victim', which is not 'sha256:' followed by 64")


def dotdot_config(reg: HostileRegistry, repo: str, world: World) -> Case:
    body = manifest_of(CONFIG, []).replace(sha256(CONFIG).encode(), b"sha256:../../../../victim", 1)
    reg.manifest(repo, "1", body)
    return Case(f"{reg.address}/{repo}:1", "'sha256:../../../../victim', which is not 'sha256:'")


def absolute_layer(reg: HostileRegistry, repo: str, world: World) -> Case:
    digest = f"sha256:{world.victims[2]}"  # blobs / '/abs/victim' is '/abs/victim'
    ref = _layered(reg, repo, [{"mediaType": MODEL, "digest": digest, "size": len(VICTIM)}])
    return Case(ref, "which is not 'sha256:'")


def header_mismatch(reg: HostileRegistry, repo: str, world: World) -> Case:
    reg.blob(repo, sha256(CONFIG), CONFIG)
    reg.manifest(repo, "1", manifest_of(CONFIG, []), header_digest=sha256(b"other bytes"))
    return Case(f"{reg.address}/{repo}:1", "does not match the registry's Docker-Content-Digest")


def header_not_a_digest(reg: HostileRegistry, repo: str, world: World) -> Case:
    reg.blob(repo, sha256(CONFIG), CONFIG)
    reg.manifest(repo, "1", manifest_of(CONFIG, []), header_digest="sha256:../../victim")
    return Case(f"{reg.address}/{repo}:1", "Docker-Content-Digest header")


def pinned_mismatch(reg: HostileRegistry, repo: str, world: World) -> Case:
    asked = sha256(b"the manifest that was pinned")
    reg.blob(repo, sha256(CONFIG), CONFIG)
    # the header repeats the pinned digest, as a registry covering its tracks would
    reg.manifest(repo, asked, manifest_of(CONFIG, []), header_digest=asked)
    return Case(f"{reg.address}/{repo}@{asked}", "does not match the digest asked for")


def manifest_too_big(reg: HostileRegistry, repo: str, world: World) -> Case:
    body = manifest_of(CONFIG, []) + b" " * MAX_MANIFEST_BYTES  # still JSON, but a flood
    reg.blob(repo, sha256(CONFIG), CONFIG)
    reg.manifest(repo, "1", body)
    return Case(f"{reg.address}/{repo}:1", "larger than 4,194,304 bytes")


def _sized(reg: HostileRegistry, repo: str, size: int, served: bytes, announce: bool) -> str:
    reg.blob(repo, sha256(LAYER), served, content_length=announce)
    return _layered(reg, repo, [{"mediaType": MODEL, "digest": sha256(LAYER), "size": size}])


def blob_longer_announced(reg: HostileRegistry, repo: str, world: World) -> Case:
    ref = _sized(reg, repo, len(LAYER) - 1, LAYER, announce=True)
    return Case(ref, f"has {len(LAYER):,} bytes, but its descriptor says {len(LAYER) - 1:,}")


def blob_longer_streamed(reg: HostileRegistry, repo: str, world: World) -> Case:
    # no Content-Length: only counting while streaming can stop it
    ref = _sized(reg, repo, len(LAYER) - 1, LAYER, announce=False)
    return Case(ref, f"has more than {len(LAYER) - 1:,} bytes, but its descriptor says")


def blob_shorter(reg: HostileRegistry, repo: str, world: World) -> Case:
    ref = _sized(reg, repo, len(LAYER) + 100, LAYER, announce=False)
    return Case(ref, f"has {len(LAYER):,} bytes, but its descriptor says {len(LAYER) + 100:,}")


def blob_content_differs(reg: HostileRegistry, repo: str, world: World) -> Case:
    forged = LAYER.replace(b"layer", b"LAYER", 1)
    ref = _sized(reg, repo, len(LAYER), forged, announce=True)
    return Case(ref, f"does not match its digest (got {sha256(forged)})")


CASES: list[Callable[[HostileRegistry, str, World], Case]] = [
    dotdot_layer,
    dotdot_config,
    absolute_layer,
    header_mismatch,
    header_not_a_digest,
    pinned_mismatch,
    manifest_too_big,
    blob_longer_announced,
    blob_longer_streamed,
    blob_shorter,
    blob_content_differs,
]


@pytest.mark.parametrize("scenario", CASES, ids=lambda f: f.__name__)
def test_pull_refuses_a_lying_registry(
    hostile: HostileRegistry,
    world: World,
    tmp_path: Path,
    scenario: Callable[[HostileRegistry, str, World], Case],
) -> None:
    repo = f"evil/{scenario.__name__.replace('_', '-')}"
    case = scenario(hostile, repo, world)
    before = _outside(world, tmp_path)

    done = _knot(world, "pull", case.ref)
    assert done.returncode == 2, done.stdout + done.stderr
    error = done.stderr.strip()
    assert error.startswith("error: ") and "\n" not in error, error
    assert case.says in error, error

    assert _outside(world, tmp_path) == before
    assert all(v.read_bytes() == VICTIM for v in world.victims)
    assert open_kit_store(world.store).entries() == []
    assert not [p for p in world.store.iterdir() if p.name.startswith(".incoming-")]
    assert not [p for p in hostile.asked_under(repo) if "victim" in p]  # never even asked

    # what the old error message suggested: it must not reach outside the store either
    name = case.ref.split("@")[0]
    removed = _knot(world, "kits", "remove", name)
    assert removed.returncode == 2 and "no ModelKit" in removed.stderr, removed.stderr
    assert _outside(world, tmp_path) == before


def test_remove_of_a_hostile_kit_left_by_an_older_knot_unlinks_nothing_outside(
    world: World, tmp_path: Path
) -> None:
    """An older Knot stored and tagged such a manifest; removing it now must delete only
    the kit's own blobs, and unpacking it must refuse before reading the 'blob'."""
    store = open_kit_store(world.store)
    config = store.put_bytes(CONFIG)
    layers = [
        {"mediaType": MODEL, "digest": "sha256:../../../victim", "size": len(VICTIM)},
        {"mediaType": MODEL, "digest": "sha256:../../../../victim", "size": len(VICTIM)},
        {"mediaType": MODEL, "digest": f"sha256:{world.victims[2]}", "size": len(VICTIM)},
    ]
    body = manifest_of(CONFIG, layers)
    manifest = store.put_bytes(body)
    store.tag("evil:1", manifest, len(body))
    before = _outside(world, tmp_path)

    unpacked = _knot(world, "unpack", "evil:1", str(tmp_path / "out"))
    assert unpacked.returncode == 2, unpacked.stderr
    assert "'sha256:../../../victim' is not 'sha256:' followed by 64" in unpacked.stderr
    assert unpacked.stderr.strip().count("\n") == 0

    removed = _knot(world, "kits", "remove", "evil:1")
    assert removed.returncode == 0, removed.stderr
    assert f"removed evil:1 ({manifest})" in removed.stdout
    assert all(v.read_bytes() == VICTIM for v in world.victims)
    assert _outside(world, tmp_path) == before
    assert not store.has(config) and not store.has(manifest) and store.entries() == []


def test_tags_are_not_followed_to_another_host(hostile: HostileRegistry, world: World) -> None:
    elsewhere = "http://127.0.0.2:9/v2/evil/tags/tags/list?last=a"  # where credentials would go
    headers = {"content-type": "application/json", "link": f'<{elsewhere}>; rel="next"'}
    hostile.set("/v2/evil/tags/tags/list", Reply(b'{"tags":["a"]}', headers))
    done = _knot(world, "kits", "tags", f"{hostile.address}/evil/tags")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "another host" in done.stderr and done.stderr.strip().count("\n") == 0
