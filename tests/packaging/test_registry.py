"""Push and pull against a real OCI registry (Debian's docker-registry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knot.errors import Corrupted, Invalid, NotFound, Unavailable
from knot.packaging.distribution import RegistryClient
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.pack import pack_folder
from knot.packaging.transfer import pull, push
from knot.packaging.unpack import unpack
from knot.refs import parse_kit_ref
from tests.packaging.conftest import OciRegistry


def test_push_pull_round_trip(
    oci_registry: OciRegistry, context: Path, store: KitStore, tmp_path: Path
) -> None:
    packed = pack_folder(context, "toy:1")
    target = f"{oci_registry.address}/round/toy:1"
    pushed = push("toy:1", target, store=store)
    assert pushed.digest == packed.digest
    assert len(pushed.sent) == 6 and not pushed.skipped  # config + five layers

    fresh = open_kit_store(tmp_path / "elsewhere")
    pulled = pull(f"oci://{target}", store=fresh)
    assert pulled.digest == packed.digest and pulled.reference == target
    unpack(target, tmp_path / "out", store=fresh)
    for name in ("models/model.bin", "models/extra/part.bin", "data/train.csv", "README.md"):
        assert (tmp_path / "out" / name).read_bytes() == (context / name).read_bytes()
    assert pull(target, store=fresh).sent == []  # nothing fetched twice


def test_second_push_sends_no_blob(
    oci_registry: OciRegistry, context: Path, store: KitStore
) -> None:
    pack_folder(context, "toy:1")
    push("toy:1", f"{oci_registry.address}/again/toy:1", store=store)
    (context / "README.md").write_text("# changed docs\n")
    pack_folder(context, "toy:2")
    second = push("toy:2", f"{oci_registry.address}/again/toy:2", store=store)
    assert len(second.sent) == 2  # only the docs layer and the config changed
    assert len(second.skipped) == 4
    third = push("toy:2", f"{oci_registry.address}/again/toy:2", store=store)
    assert third.sent == [] and third.bytes_moved == 0


def test_chunked_upload_and_mount(
    oci_registry: OciRegistry, context: Path, store: KitStore, tmp_path: Path
) -> None:
    pack_folder(context, "toy:1")
    with RegistryClient(oci_registry.address, chunk_size=1500) as client:
        chunked = push("toy:1", f"{oci_registry.address}/chunked/toy:1", store=store, client=client)
    assert len(chunked.sent) == 6
    mounted = push(
        "toy:1", f"{oci_registry.address}/mounted/toy", mount_from="chunked/toy", store=store
    )
    assert len(mounted.mounted) == 6 and mounted.sent == []
    assert mounted.reference.endswith("/mounted/toy:1")  # the tag defaults to the source's
    pulled = pull(f"{oci_registry.address}/mounted/toy:1", store=open_kit_store(tmp_path / "s"))
    assert pulled.digest == chunked.digest


def test_tag_listing(oci_registry: OciRegistry, context: Path, store: KitStore) -> None:
    pack_folder(context, "toy:1")
    for tag in ("v2", "v10", "latest"):
        push("toy:1", f"{oci_registry.address}/tags/toy:{tag}", store=store)
    with RegistryClient(oci_registry.address) as client:
        assert client.list_tags("tags/toy") == ["latest", "v10", "v2"]
        assert client.list_tags("never/pushed") == []


def test_tampered_registry_blob_is_detected(
    oci_registry: OciRegistry, context: Path, store: KitStore, tmp_path: Path
) -> None:
    packed = pack_folder(context, "toy:1")
    push("toy:1", f"{oci_registry.address}/tamper/toy:1", store=store)
    layer = packed.manifest["layers"][0]["digest"]
    stored = oci_registry.blob_file(layer)
    original = stored.read_bytes()
    stored.write_bytes(original.replace(b"weights", b"WEIGHTS", 1))
    fresh = open_kit_store(tmp_path / "fresh")
    try:
        with pytest.raises(Corrupted, match="does not match its digest"):
            pull(f"{oci_registry.address}/tamper/toy:1", store=fresh)
    finally:  # the registry is shared by the session's tests, and blobs across repositories
        stored.write_bytes(original)
    assert not fresh.has(layer) and fresh.entries() == []


def test_unknown_tag_and_unreachable_registry(oci_registry: OciRegistry, store: KitStore) -> None:
    with pytest.raises(NotFound, match="no ModelKit"):
        pull(f"{oci_registry.address}/nothing/here:1", store=store)
    with pytest.raises(Unavailable, match="cannot reach the OCI registry"):
        pull("127.0.0.1:1/toy:1", store=store)
    with pytest.raises(NotFound, match="no ModelKit 'nope:1' in the local store"):
        push("nope:1", f"{oci_registry.address}/x/y:1", store=store)
    with pytest.raises(Invalid, match="names no registry"):
        pull("toy:1", store=store)


@pytest.mark.parametrize(
    "bad", ["", "UPPER/case:1", "repo:bad tag", "host:5000/repo@sha256:123", "a//b"]
)
def test_malformed_references(bad: str) -> None:
    with pytest.raises(Invalid, match="malformed"):
        parse_kit_ref(bad)


def test_reference_forms() -> None:
    ref = parse_kit_ref("oci://127.0.0.1:5000/team/churn:3")
    assert (ref.registry, ref.repository, ref.tag) == ("127.0.0.1:5000", "team/churn", "3")
    assert parse_kit_ref("churn").registry is None
    assert parse_kit_ref("localhost/churn@sha256:" + "a" * 64).digest == "sha256:" + "a" * 64


def test_pull_refuses_what_is_not_a_modelkit(
    oci_registry: OciRegistry, store: KitStore, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(b"{}")
    digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    image = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'
        + digest.encode()
        + b'","size":2},"layers":[]}'
    )
    with RegistryClient(oci_registry.address) as client:
        client.upload_blob("plain/image", config, digest)
        client.put_manifest("plain/image", "1", image, "application/vnd.oci.image.manifest.v1+json")
    with pytest.raises(Invalid, match="is not a ModelKit"):
        pull(f"{oci_registry.address}/plain/image:1", store=store)
    assert store.entries() == []


def test_local_digest_references(context: Path, store: KitStore) -> None:
    packed = pack_folder(context, "toy:1")
    assert store.resolve(packed.digest)[0] == packed.digest
    assert store.resolve(f"toy@{packed.digest}")[0] == packed.digest
    with pytest.raises(Invalid, match="must not carry a digest"):
        pack_folder(context, f"toy@{packed.digest}")
